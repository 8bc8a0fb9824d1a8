namespace MedDistill.Evaluation.Tests;

public class SegmentationMetricsTests
{
    private static CaseMetrics Compute(byte[] prediction, byte[] reference, VolumeGrid grid, byte label = 1, MetricsOptions? options = null) =>
        SegmentationMetrics.Compute("case", "site", prediction, reference, grid, label, options);

    [Test]
    public void DiceOfKnownOverlaps()
    {
        var grid = new VolumeGrid(1, 1, 10, 1, 1, 1);
        // P = x in [0, 4), R = x in [2, 8): |P ∩ R| = 2 → 2·2 / (4 + 6) = 0.4.
        var row = Compute(Volumes.Box(1, 1, 10, 0, 0, 0, 1, 1, 4), Volumes.Box(1, 1, 10, 0, 0, 2, 1, 1, 6), grid);
        Assert.That(row.Dice, Is.EqualTo(0.4).Within(1e-15));
        Assert.That((row.PredictionVoxels, row.ReferenceVoxels, row.IntersectionVoxels), Is.EqualTo((4L, 6L, 2L)));

        var same = Volumes.Box(1, 1, 10, 0, 0, 3, 1, 1, 5);
        Assert.That(Compute(same, same, grid).Dice, Is.EqualTo(1.0));
        var disjoint = Compute(Volumes.Box(1, 1, 10, 0, 0, 0, 1, 1, 3), Volumes.Box(1, 1, 10, 0, 0, 5, 1, 1, 3), grid);
        Assert.That(disjoint.Dice, Is.EqualTo(0.0));

        // The Dice-only entry point agrees, including the both-empty rule.
        Assert.That(SegmentationMetrics.Dice(Volumes.Box(1, 1, 10, 0, 0, 0, 1, 1, 4), Volumes.Box(1, 1, 10, 0, 0, 2, 1, 1, 6), grid), Is.EqualTo(0.4).Within(1e-15));
        Assert.That(SegmentationMetrics.Dice(new byte[10], new byte[10], grid), Is.EqualTo(1.0));
        Assert.That(SegmentationMetrics.Dice(new byte[10], same, grid), Is.EqualTo(0.0));
    }

    [Test]
    public void TwoSingleVoxelsWithAnisotropicSpacing()
    {
        // Apart by (dz, dy, dx) = (2, 3, 4) voxels of (3, 0.5, 0.5) mm: √(6² + 1.5² + 2²) = √42.25 = 6.5 mm. Swapping any two
        // axes' spacings would give another number (e.g. z↔x: √(1² + 1.5² + 12²)).
        var grid = new VolumeGrid(4, 5, 6, 3, 0.5, 0.5);
        var row = Compute(Volumes.Voxel(4, 5, 6, 0, 0, 0), Volumes.Voxel(4, 5, 6, 2, 3, 4), grid);
        Assert.That(row.Hd, Is.EqualTo(6.5).Within(1e-12));
        Assert.That(row.Hd95, Is.EqualTo(6.5).Within(1e-12));
        Assert.That(row.Asd, Is.EqualTo(6.5).Within(1e-12));
        Assert.That(row.AssdMedPy, Is.EqualTo(6.5).Within(1e-12));
        Assert.That(row.Dice, Is.EqualTo(0.0));
    }

    [Test]
    public void DistanceSetsOnALineByHand()
    {
        // A 1×1×8 volume: every foreground voxel is surface (z and y neighbours are outside the volume). Spacing x = 2 mm.
        // P = {0, 1, 2}, R = {1, …, 5}. P→R: 2, 0, 0. R→P: 0, 0, 2, 4, 6.
        // Union sorted [0,0,0,0,2,2,4,6]: HD 6; HD95 h = 7·0.95 = 6.65 → 4 + 0.65·2 = 5.3; ASD = 14/8 = 1.75;
        // MedPy ASSD = (2/3 + 12/5) / 2 = 23/15; Dice = 2·2 / (3 + 5) = 0.5.
        var grid = new VolumeGrid(1, 1, 8, 1, 1, 2);
        var p = Volumes.Box(1, 1, 8, 0, 0, 0, 1, 1, 3);
        var r = Volumes.Box(1, 1, 8, 0, 0, 1, 1, 1, 5);
        var sets = SegmentationMetrics.Distances(p, r, grid);
        Assert.That(sets.PredictionToReference, Is.EqualTo(new double[] { 2, 0, 0 }));
        Assert.That(sets.ReferenceToPrediction, Is.EqualTo(new double[] { 0, 0, 2, 4, 6 }));

        var row = Compute(p, r, grid);
        Assert.That(row.Hd, Is.EqualTo(6).Within(1e-12));
        Assert.That(row.Hd95, Is.EqualTo(5.3).Within(1e-12));
        Assert.That(row.Asd, Is.EqualTo(1.75).Within(1e-12));
        Assert.That(row.AssdMedPy, Is.EqualTo(23.0 / 15).Within(1e-12));
        Assert.That(row.Dice, Is.EqualTo(0.5).Within(1e-15));
    }

    [TestCase(0, 6.0)]   // along z: k·sz = 2·3
    [TestCase(1, 1.0)]   // along y: k·sy = 2·0.5
    [TestCase(2, 1.4)]   // along x: k·sx = 2·0.7
    public void CubeShiftedByKVoxelsHasHausdorffKTimesSpacing(int axis, double expectedHd)
    {
        // A 4-voxel cube shifted by 2 voxels along one axis: every P voxel of the trailing face is 2 voxels from R's trailing
        // face and no farther from R's surface, every other voxel closer (face-to-face offsets along other axes only add).
        // Dice = (L − k) / L = 0.5.
        const int n = 12, side = 4, k = 2;
        var grid = new VolumeGrid(n, n, n, 3, 0.5, 0.7);
        var p = Volumes.Box(n, n, n, 4, 4, 4, side, side, side);
        int[] shifted = [4, 4, 4];
        shifted[axis] += k;
        var r = Volumes.Box(n, n, n, shifted[0], shifted[1], shifted[2], side, side, side);
        var row = Compute(p, r, grid);
        Assert.That(row.Hd, Is.EqualTo(expectedHd).Within(1e-12));
        Assert.That(row.Dice, Is.EqualTo(0.5).Within(1e-15));
    }

    [Test]
    public void BallShiftedInPlaneHasHausdorffShiftTimesSpacing()
    {
        // A digital ball of radius 6 voxels shifted by 3 voxels along x, isotropic 0.8 mm. The two extreme points of the ball
        // along x lie on the shift line and are 3 voxels from the other ball's extreme point and farther from the rest of its
        // surface, so HD = 3 · 0.8 mm.
        const int n = 24;
        var grid = new VolumeGrid(n, n, n, 0.8, 0.8, 0.8);
        byte[] Ball(int cx)
        {
            var v = new byte[n * n * n];
            for (int z = 0; z < n; z++)
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++)
                        if ((z - 11) * (z - 11) + (y - 11) * (y - 11) + (x - cx) * (x - cx) <= 36) v[(z * n + y) * n + x] = 1;
            return v;
        }
        var row = Compute(Ball(9), Ball(12), grid);
        Assert.That(row.Hd, Is.EqualTo(3 * 0.8).Within(1e-12));
    }

    [Test]
    public void BothEmptyIsAPerfectAnswer()
    {
        var grid = new VolumeGrid(2, 3, 4, 3, 0.5, 0.5);
        var empty = new byte[grid.VoxelCount];
        var row = Compute(empty, empty, grid);
        Assert.That((row.Dice, row.Hd95, row.Asd, row.AssdMedPy, row.Hd), Is.EqualTo((1.0, 0.0, 0.0, 0.0, 0.0)));
        Assert.That((row.PredictionEmpty, row.ReferenceEmpty), Is.EqualTo((true, true)));
    }

    [Test]
    public void OneEmptyMaskGetsTheVolumeDiagonalByDefault()
    {
        // 4×10×20 voxels of (3, 0.5, 0.5) mm: box 12 × 5 × 10 mm, diagonal √(144 + 25 + 100) = √269.
        var grid = new VolumeGrid(4, 10, 20, 3, 0.5, 0.5);
        var empty = new byte[grid.VoxelCount];
        var organ = Volumes.Box(4, 10, 20, 1, 2, 3, 2, 3, 4);
        double diagonal = Math.Sqrt(269);

        var missed = Compute(empty, organ, grid);
        Assert.That(missed.Dice, Is.EqualTo(0.0));
        Assert.That(new[] { missed.Hd95, missed.Asd, missed.AssdMedPy, missed.Hd }, Is.All.EqualTo(diagonal).Within(1e-12));
        Assert.That((missed.PredictionEmpty, missed.ReferenceEmpty), Is.EqualTo((true, false)));

        var spurious = Compute(organ, empty, grid);
        Assert.That(spurious.Dice, Is.EqualTo(0.0));
        Assert.That(new[] { spurious.Hd95, spurious.Asd, spurious.AssdMedPy, spurious.Hd }, Is.All.EqualTo(diagonal).Within(1e-12));
        Assert.That((spurious.PredictionEmpty, spurious.ReferenceEmpty), Is.EqualTo((false, true)));
        Assert.That(spurious.PredictionVoxels, Is.EqualTo(24));
    }

    [Test]
    public void OneEmptyMaskGetsNaNUnderTheNaNPolicy()
    {
        var grid = new VolumeGrid(4, 10, 20, 3, 0.5, 0.5);
        var options = new MetricsOptions { EmptyMaskDistance = EmptyMaskDistance.NaN };
        var organ = Volumes.Box(4, 10, 20, 1, 2, 3, 2, 3, 4);
        foreach (var (p, r) in new[] { (new byte[grid.VoxelCount], organ), (organ, new byte[grid.VoxelCount]) })
        {
            var row = Compute(p, r, grid, options: options);
            Assert.That(row.Dice, Is.EqualTo(0.0));
            Assert.That(new[] { row.Hd95, row.Asd, row.AssdMedPy, row.Hd }, Is.All.NaN);
        }
        // Both empty stays a perfect answer under either policy.
        var both = Compute(new byte[grid.VoxelCount], new byte[grid.VoxelCount], grid, options: options);
        Assert.That((both.Dice, both.Hd), Is.EqualTo((1.0, 0.0)));
    }

    [Test]
    public void MultiClassGivesOneRowPerClass()
    {
        // Line of 6: P = [1 1 2 2 2 0], R = [1 2 2 2 0 0]. Class 1: |P|=2, |R|=1, ∩=1 → 2/3. Class 2: |P|=3, |R|=3, ∩=2 → 2/3.
        // Class 2 surfaces (every voxel, 1×1×n volume), x spacing 1: P {2,3,4} → R {1,2,3}: 0, 0, 1; R → P: 1, 0, 0 → HD 1, ASD 2/6.
        var grid = new VolumeGrid(1, 1, 6, 1, 1, 1);
        byte[] p = [1, 1, 2, 2, 2, 0], r = [1, 2, 2, 2, 0, 0];
        var rows = SegmentationMetrics.ComputeClasses("c7", "RUNMC", p, r, grid, [1, 2]);
        Assert.That(rows.Select(x => x.ClassLabel), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(rows[0].Dice, Is.EqualTo(2.0 / 3).Within(1e-15));
        Assert.That(rows[1].Dice, Is.EqualTo(2.0 / 3).Within(1e-15));
        Assert.That(rows[1].Hd, Is.EqualTo(1.0));
        Assert.That(rows[1].Asd, Is.EqualTo(2.0 / 6).Within(1e-15));
        Assert.That(rows.All(x => x.CaseId == "c7" && x.Site == "RUNMC"));
        Assert.Throws<ArgumentException>(() => SegmentationMetrics.ComputeClasses("c", "s", p, r, grid, [1, 1]));
    }

    [TestCase(11)]
    [TestCase(12)]
    [TestCase(13)]
    [TestCase(14)]
    [TestCase(15)]
    public void SurfaceDistancesMatchBruteForce(int seed)
    {
        // Random blobs placed anywhere (also touching the border) so the cropped distance transform is exercised off-centre.
        var random = new Random(seed);
        for (int trial = 0; trial < 15; trial++)
        {
            int d = random.Next(2, 8), h = random.Next(2, 11), w = random.Next(2, 12);
            var grid = new VolumeGrid(d, h, w, 0.4 + 3 * random.NextDouble(), 0.4 + random.NextDouble(), 0.4 + random.NextDouble());
            byte[] Blob()
            {
                var v = new byte[d * h * w];
                int z0 = random.Next(d), y0 = random.Next(h), x0 = random.Next(w);
                int dz = random.Next(1, d - z0 + 1), dy = random.Next(1, h - y0 + 1), dx = random.Next(1, w - x0 + 1);
                for (int z = z0; z < z0 + dz; z++)
                    for (int y = y0; y < y0 + dy; y++)
                        for (int x = x0; x < x0 + dx; x++)
                            if (random.NextDouble() < 0.8) v[(z * h + y) * w + x] = 1;
                return v;
            }
            var p = Blob();
            var r = Blob();
            var sp = BruteForce.Voxels(BruteForce.Surface(p, d, h, w, 1), h, w);
            var sr = BruteForce.Voxels(BruteForce.Surface(r, d, h, w, 1), h, w);
            if (sp.Count == 0 || sr.Count == 0) continue;
            var forward = BruteForce.Nearest(sp, sr, grid.SpacingZ, grid.SpacingY, grid.SpacingX);
            var backward = BruteForce.Nearest(sr, sp, grid.SpacingZ, grid.SpacingY, grid.SpacingX);

            var sets = SegmentationMetrics.Distances(p, r, grid);
            Assert.That(sets.PredictionToReference, Is.EqualTo(forward).Within(1e-9), $"seed {seed} trial {trial} {grid}");
            Assert.That(sets.ReferenceToPrediction, Is.EqualTo(backward).Within(1e-9), $"seed {seed} trial {trial} {grid}");

            var union = forward.Concat(backward).ToArray();
            var row = SegmentationMetrics.Compute("c", "s", p, r, grid);
            Assert.That(row.Hd, Is.EqualTo(union.Max()).Within(1e-9));
            Assert.That(row.Hd95, Is.EqualTo(Percentile.Linear(union, 95)).Within(1e-9));
            Assert.That(row.Asd, Is.EqualTo(union.Average()).Within(1e-9));
            Assert.That(row.AssdMedPy, Is.EqualTo((forward.Average() + backward.Average()) / 2).Within(1e-9));
            int both = p.Zip(r).Count(t => t.First == 1 && t.Second == 1);
            Assert.That(row.Dice, Is.EqualTo(2.0 * both / (p.Count(v => v == 1) + r.Count(v => v == 1))).Within(1e-15));
        }
    }

    [Test]
    public void RejectsMismatchedSizes()
    {
        var grid = new VolumeGrid(2, 2, 2, 1, 1, 1);
        Assert.Throws<ArgumentException>(() => Compute(new byte[8], new byte[7], grid));
        Assert.Throws<ArgumentException>(() => VolumeGrid.FromShape([2, 2], [1.0, 1, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VolumeGrid(2, 2, 2, 1, 0, 1));
        Assert.That(VolumeGrid.FromShape([40, 384, 384], [3.0, 0.5, 0.5]), Is.EqualTo(new VolumeGrid(40, 384, 384, 3, 0.5, 0.5)));
    }
}
