using System.Runtime.InteropServices;
using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Reports;

namespace MedDistill.Experiments.Tests.Reports;

public class OverlayRendererTests
{
    private static byte[] Mask(int width, int height, int x0, int x1, int y0, int y1)
    {
        var m = new byte[width * height];
        for (int y = y0; y <= y1; y++) for (int x = x0; x <= x1; x++) m[y * width + x] = 1;
        return m;
    }

    [Test]
    public void ASquareAndItsShiftedPredictionAreOutlinedInRedGreenAndYellow()
    {
        const int n = 6;
        var image = Enumerable.Range(0, n * n).Select(i => (float)i).ToArray();
        var truth = Mask(n, n, 1, 3, 1, 3);
        var predicted = Mask(n, n, 2, 4, 1, 3);
        var overlay = OverlayRenderer.Render(image, truth, predicted, n, n, OverlayOptions.Default with { Upscale = 1 });

        // By hand: each square's contour is its 3×3 block minus the centre; where the two rings overlap (the top and
        // bottom of columns 2 and 3) both colours meet. (3,2) is on the truth's right edge but inside the prediction;
        // (2,2) is inside the truth but on the prediction's left edge.
        string[] expected =
        [
            "......",
            ".RYYG.",
            ".RGRG.",
            ".RYYG.",
            "......",
            "......",
        ];
        Assert.That((overlay.Width, overlay.Height), Is.EqualTo((6, 6)));
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                var p = overlay[x, y];
                switch (expected[y][x])
                {
                    case 'R': Assert.That(p, Is.EqualTo(new Rgb(255, 0, 0)), $"({x},{y})"); break;
                    case 'G': Assert.That(p, Is.EqualTo(new Rgb(0, 255, 0)), $"({x},{y})"); break;
                    case 'Y': Assert.That(p, Is.EqualTo(new Rgb(255, 255, 0)), $"({x},{y})"); break;
                    default: Assert.That(p.R == p.G && p.G == p.B, $"({x},{y}) is grey, got {p}"); break;
                }
            }
        // The window of 0..35: 0.5th percentile 0.175, 99.5th 34.825 (NumPy linear). 18 → 255·17.825/34.65 = 131.18.
        Assert.Multiple(() =>
        {
            Assert.That(overlay[0, 0], Is.EqualTo(new Rgb(0, 0, 0)));
            Assert.That(overlay[5, 5], Is.EqualTo(new Rgb(255, 255, 255)));
            Assert.That(overlay[0, 3], Is.EqualTo(new Rgb(131, 131, 131)));
        });
    }

    [Test]
    public void TheContourIsOnePixelWideAtTheMagnifiedResolution()
    {
        var image = new float[9];
        var truth = Mask(3, 3, 0, 1, 0, 1);
        var overlay = OverlayRenderer.Render(image, truth, new byte[9], 3, 3);   // default upscale 3: 9×9
        Assert.That((overlay.Width, overlay.Height), Is.EqualTo((9, 9)));
        // The 2×2 block becomes pixels 0..5 in both directions; its contour is the outer ring of that 6×6 block (the
        // image border counts as background): 6·4 − 4 = 20 pixels.
        int red = 0;
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 9; x++)
            {
                bool onRing = x <= 5 && y <= 5 && (x == 0 || y == 0 || x == 5 || y == 5);
                Assert.That(overlay[x, y] == Rgb.Red, Is.EqualTo(onRing), $"({x},{y})");
                if (overlay[x, y] == Rgb.Red) red++;
            }
        Assert.That(red, Is.EqualTo(20));
    }

    [Test]
    public void TheWindowMapsTheHalfAndNinetyNineAndAHalfPercentilesToBlackAndWhite()
    {
        var image = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        var grey = OverlayRenderer.WindowToGrey(image, 0.5, 99.5);
        // Percentiles of 0..99: 99·0.005 = 0.495 and 99·0.995 = 98.505; width 98.01.
        Assert.Multiple(() =>
        {
            Assert.That(grey[0], Is.EqualTo(0));
            Assert.That(grey[1], Is.EqualTo(1), "255·0.505/98.01 = 1.31");
            Assert.That(grey[50], Is.EqualTo(129), "255·49.505/98.01 = 128.80");
            Assert.That(grey[98], Is.EqualTo(254), "255·97.505/98.01 = 253.69");
            Assert.That(grey[99], Is.EqualTo(255));
        });
    }

    [Test]
    public void AFlatWindowThresholdsAndNonFiniteValuesAreBlack()
    {
        var image = new float[400];
        image[7] = 9;           // one bright voxel: both percentiles are 0
        image[8] = float.NaN;
        var grey = OverlayRenderer.WindowToGrey(image, 0.5, 99.5);
        Assert.That(grey[7], Is.EqualTo(255));
        Assert.That(grey.Where((_, i) => i != 7), Is.All.EqualTo(0));
        Assert.That(OverlayRenderer.WindowToGrey([float.NaN, float.PositiveInfinity], 0.5, 99.5), Is.EqualTo(new byte[2]));
    }

    [Test]
    public void TheSliceShownIsTheOneWithTheMostGroundTruth()
    {
        // 4 slices of 2×1: counts 1, 2, 2, 0 → the first of the two largest.
        Assert.That(OverlayRenderer.LargestForegroundSlice([0, 1, 1, 1, 2, 1, 0, 0], 4, 2, 1), Is.EqualTo(1));
        Assert.That(OverlayRenderer.LargestForegroundSlice(new byte[10], 5, 2, 1), Is.EqualTo(2), "no foreground: the middle slice");
    }

    [Test]
    public void ACachedCaseIsRenderedAtItsLargestSliceWithItsSliceDice()
    {
        var dir = Directory.CreateTempSubdirectory("md-overlay-").FullName;
        try
        {
            const int slices = 3, h = 4, w = 4;
            var image = Enumerable.Range(0, slices * h * w).Select(i => (float)i).ToArray();
            var labels = new byte[slices * h * w];
            Mask(w, h, 1, 2, 1, 2).CopyTo(labels, 1 * h * w);     // slice 1: 4 voxels
            Mask(w, h, 0, 2, 1, 2).CopyTo(labels, 2 * h * w);     // slice 2: 6 voxels
            File.WriteAllBytes(Path.Combine(dir, "image.bin"), MemoryMarshal.AsBytes(image.AsSpan()).ToArray());
            File.WriteAllBytes(Path.Combine(dir, "label.bin"), labels);
            var source = new SourceFileRecord("x", 0, DateTime.UnixEpoch, "");
            var c = new CachedCase
            {
                Id = "S4-case01", Site = "S4", Name = "case01", Image = source, Label = source,
                ImageFile = "image.bin", LabelFile = "label.bin", Shape = [slices, h, w], Spacing = [3, 1, 1],
                SourceShape = [slices, h, w], SourceSpacing = [3, 1, 1], Normalisation = new NormalisationApplied(0, 1, 0, 1, 0, 1),
                ForegroundPerSlice = [0, 4, 6],
            };
            var predicted = new byte[slices * h * w];
            Mask(w, h, 1, 3, 1, 2).CopyTo(predicted, 2 * h * w);  // 6 voxels, 4 of them on the truth

            var overlay = OverlayRenderer.RenderPrediction(dir, c, predicted);
            Assert.Multiple(() =>
            {
                Assert.That(overlay.SliceIndex, Is.EqualTo(2));
                Assert.That((overlay.CaseId, overlay.Site), Is.EqualTo(("S4-case01", "S4")));
                Assert.That((overlay.GroundTruthPixels, overlay.PredictedPixels), Is.EqualTo((6, 6)));
                Assert.That(overlay.SliceDice, Is.EqualTo(8.0 / 12).Within(1e-12));
                Assert.That((overlay.Image.Width, overlay.Image.Height), Is.EqualTo((12, 12)));
                // Slice 2's truth starts at voxel (0,1) = magnified (0..2, 3..5); its top-left pixel is on the contour.
                Assert.That(overlay.Image[0, 3], Is.EqualTo(Rgb.Red));
                // Voxel (3,1) is predicted only: its magnified right edge is green.
                Assert.That(overlay.Image[11, 4], Is.EqualTo(Rgb.Green));
            });
            var first = OverlayRenderer.RenderPrediction(dir, c, predicted, sliceIndex: 0);
            Assert.That((first.SliceIndex, first.SliceDice), Is.EqualTo((0, (double?)null)), "both empty: no Dice");
            Assert.Throws<ArgumentOutOfRangeException>(() => OverlayRenderer.RenderPrediction(dir, c, predicted, sliceIndex: 3));
            Assert.Throws<ArgumentException>(() => OverlayRenderer.RenderPrediction(dir, c, new byte[5]));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
