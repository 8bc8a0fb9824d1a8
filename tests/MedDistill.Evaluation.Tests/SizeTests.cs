using System.Diagnostics;

namespace MedDistill.Evaluation.Tests;

/// <summary>A full-size case completes; the time is printed (TestContext.Progress), never asserted, since the machine is shared.</summary>
public class SizeTests
{
    private const int Depth = 40, Height = 384, Width = 384;

    /// <summary>An ellipsoid with semi-axes in voxels (rz, ry, rx) centred at (cz, cy, cx).</summary>
    private static byte[] Ellipsoid(double cz, double cy, double cx, double rz, double ry, double rx)
    {
        var v = new byte[Depth * Height * Width];
        for (int z = 0; z < Depth; z++)
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x++)
                {
                    double a = (z - cz) / rz, b = (y - cy) / ry, c = (x - cx) / rx;
                    if (a * a + b * b + c * c <= 1) v[(z * Height + y) * Width + x] = 1;
                }
        return v;
    }

    [Test]
    public void ProstateSizedCaseOf40x384x384()
    {
        // A prostate at 0.5 mm in-plane, 3 mm slices: about 45 mm × 40 mm × 36 mm; the prediction is shifted and smaller.
        var grid = new VolumeGrid(Depth, Height, Width, 3, 0.5, 0.5);
        var reference = Ellipsoid(20, 190, 195, 6, 40, 45);
        var prediction = Ellipsoid(21, 194, 190, 5.5, 37, 44);
        SegmentationMetrics.Compute("warm-up", "s", prediction, reference, grid); // JIT

        var watch = Stopwatch.StartNew();
        var row = SegmentationMetrics.Compute("c", "s", prediction, reference, grid);
        var seconds = watch.Elapsed.TotalSeconds;
        TestContext.Progress.WriteLine(
            $"40×384×384 prostate-sized case: {seconds * 1000:F0} ms (Dice {row.Dice:F3}, HD95 {row.Hd95:F2} mm, ASD {row.Asd:F2} mm), {Environment.ProcessorCount} cores");
        Assert.That(row.Dice, Is.GreaterThan(0.7).And.LessThan(1));
        Assert.That(row.Hd, Is.GreaterThan(0).And.LessThan(grid.PhysicalDiagonalMm));
    }

    /// <summary>
    /// Worst case for the cropped transforms: both masks reach every border, so the transforms run on the whole volume.
    /// Run with: dotnet test tests/MedDistill.Evaluation.Tests -c Release --filter "Name=WholeVolumeCaseOf40x384x384" --logger "console;verbosity=detailed"
    /// </summary>
    [Test, Explicit("benchmark: about a second with its set-up; run on demand")]
    public void WholeVolumeCaseOf40x384x384()
    {
        var grid = new VolumeGrid(Depth, Height, Width, 3, 0.5, 0.5);
        var reference = Ellipsoid(19.5, 191.5, 191.5, 21, 200, 200);
        var prediction = Ellipsoid(20.5, 185, 195, 22, 195, 205);
        SegmentationMetrics.Compute("warm-up", "s", prediction, reference, grid);
        foreach (var threads in new[] { 1, -1 })
        {
            var options = new MetricsOptions { MaxDegreeOfParallelism = threads };
            var times = new List<double>();
            CaseMetrics? row = null;
            for (int repeat = 0; repeat < 5; repeat++)
            {
                var watch = Stopwatch.StartNew();
                row = SegmentationMetrics.Compute("c", "s", prediction, reference, grid, options: options);
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            TestContext.Progress.WriteLine(
                $"40×384×384 whole-volume case, MaxDegreeOfParallelism {threads}: median {times.Order().ElementAt(2):F0} ms of 5 " +
                $"(min {times.Min():F0}), Dice {row!.Dice:F3}, HD95 {row.Hd95:F2} mm, {Environment.ProcessorCount} cores");
            Assert.That(row.Dice, Is.GreaterThan(0.8).And.LessThan(1));
        }
    }
}
