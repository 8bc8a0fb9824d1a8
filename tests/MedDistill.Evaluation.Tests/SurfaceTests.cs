namespace MedDistill.Evaluation.Tests;

public class SurfaceTests
{
    [Test]
    public void CubeInsideTheVolumeHasAllButItsCentreOnTheSurface()
    {
        var grid = new VolumeGrid(5, 5, 5, 1, 1, 1);
        var labels = Volumes.Box(5, 5, 5, 1, 1, 1, 3, 3, 3);
        var surface = SegmentationMetrics.SurfaceMask(labels, grid);
        Assert.That(surface.Count(s => s), Is.EqualTo(26));
        Assert.That(surface[(2 * 5 + 2) * 5 + 2], Is.False, "the centre has six foreground neighbours");
    }

    [Test]
    public void VoxelsOnTheVolumeBorderAreSurface()
    {
        // The whole 3×3×3 volume is foreground: only the centre has all six neighbours inside the mask; (0, 1, 1) has its
        // five in-volume neighbours in the mask but the sixth is outside the volume.
        var grid = new VolumeGrid(3, 3, 3, 1, 1, 1);
        var labels = Enumerable.Repeat((byte)1, 27).ToArray();
        var surface = SegmentationMetrics.SurfaceMask(labels, grid);
        Assert.That(surface.Count(s => s), Is.EqualTo(26));
        Assert.That(surface[(0 * 3 + 1) * 3 + 1], Is.True);
        Assert.That(surface[(1 * 3 + 1) * 3 + 1], Is.False);
    }

    [Test]
    public void CavityWallsAreSurface()
    {
        // 5×5×5 foreground with a hole at the centre: the 98-voxel outer shell plus the hole's six face neighbours
        // (its edge and corner neighbours touch it only diagonally, not 6-connected).
        var grid = new VolumeGrid(5, 5, 5, 1, 1, 1);
        var labels = Enumerable.Repeat((byte)1, 125).ToArray();
        labels[(2 * 5 + 2) * 5 + 2] = 0;
        var surface = SegmentationMetrics.SurfaceMask(labels, grid);
        Assert.That(surface.Count(s => s), Is.EqualTo(98 + 6));
        Assert.That(surface[(1 * 5 + 2) * 5 + 2], Is.True);
        Assert.That(surface[(1 * 5 + 1) * 5 + 2], Is.False);
    }

    [Test]
    public void OnlyTheRequestedLabelIsForeground()
    {
        // Labels 1 and 2 side by side: for class 2 the label-1 voxels are background.
        var grid = new VolumeGrid(1, 1, 4, 1, 1, 1);
        byte[] labels = [1, 1, 2, 2];
        Assert.That(SegmentationMetrics.SurfaceMask(labels, grid, 2), Is.EqualTo(new[] { false, false, true, true }));
    }
}
