namespace MedDistill.Evaluation.Tests;

public class DistanceTransformTests
{
    [Test]
    public void OneSiteGivesWeightedDistanceEverywhere()
    {
        // Site at (1, 2, 3) in a 3×4×5 grid with spacing (3, 0.5, 2): voxel (0, 0, 0) is 1·3, 2·0.5, 3·2 mm away → 9 + 1 + 36 = 46 mm².
        var grid = new VolumeGrid(3, 4, 5, 3, 0.5, 2);
        var sites = new bool[grid.VoxelCount];
        sites[(1 * 4 + 2) * 5 + 3] = true;
        var squared = EuclideanDistanceTransform.SquaredDistances(sites, grid);
        Assert.That(squared[0], Is.EqualTo(46).Within(1e-12));
        Assert.That(squared[(1 * 4 + 2) * 5 + 3], Is.EqualTo(0));
        // (2, 3, 4): 1·3, 1·0.5, 1·2 → 9 + 0.25 + 4.
        Assert.That(squared[(2 * 4 + 3) * 5 + 4], Is.EqualTo(13.25).Within(1e-12));
    }

    [Test]
    public void NoSiteLeavesEverythingInfinite()
    {
        var grid = new VolumeGrid(2, 3, 4, 1, 1, 1);
        var squared = EuclideanDistanceTransform.SquaredDistances(new bool[grid.VoxelCount], grid);
        Assert.That(squared, Is.All.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void LowerEnvelopeOfOneLine()
    {
        // f = [∞, 0, ∞, ∞, ∞, 1, ∞] with weight 4: p=3 sees 4·(3−1)² + 0 = 16 from q=1 and 4·(3−5)² + 1 = 17 from q=5.
        double inf = double.PositiveInfinity;
        double[] f = [inf, 0, inf, inf, inf, 1, inf];
        var d = new double[7];
        EuclideanDistanceTransform.LowerEnvelope(f, 7, 4, new int[7], new double[8], d);
        Assert.That(d, Is.EqualTo(new double[] { 4, 0, 4, 16, 5, 1, 5 }));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(6)]
    [TestCase(7)]
    [TestCase(8)]
    public void MatchesBruteForceOnRandomVolumes(int seed)
    {
        var random = new Random(seed);
        for (int trial = 0; trial < 20; trial++)
        {
            int d = random.Next(1, 7), h = random.Next(1, 9), w = random.Next(1, 10);
            var grid = new VolumeGrid(d, h, w, 0.3 + 3 * random.NextDouble(), 0.3 + 3 * random.NextDouble(), 0.3 + 3 * random.NextDouble());
            double density = random.NextDouble() * 0.3;
            var sites = new bool[grid.VoxelCount];
            for (int i = 0; i < sites.Length; i++) sites[i] = random.NextDouble() < density;

            var squared = EuclideanDistanceTransform.SquaredDistances(sites, grid);
            var all = BruteForce.Voxels(Enumerable.Repeat(true, sites.Length).ToArray(), h, w);
            var expected = BruteForce.Nearest(all, BruteForce.Voxels(sites, h, w), grid.SpacingZ, grid.SpacingY, grid.SpacingX);
            for (int i = 0; i < sites.Length; i++)
                Assert.That(Math.Sqrt(squared[i]), Is.EqualTo(expected[i]).Within(1e-9 * Math.Max(1, expected[i])),
                    $"seed {seed} trial {trial} grid {grid} voxel {i}");
        }
    }

    [Test]
    public void ThreadedPassesOnALargeVolumeMatchSerialAndBruteForce()
    {
        // Above the size where the passes go parallel: results must not depend on the thread count, and sampled voxels
        // must match a brute-force search over the (sparse) sites.
        var grid = new VolumeGrid(9, 200, 170, 3.3, 0.6, 0.45);
        var random = new Random(99);
        var sites = new bool[grid.VoxelCount];
        for (int k = 0; k < 300; k++) sites[random.Next(sites.Length)] = true;
        var field = new double[grid.VoxelCount];

        double[] Run(int threads)
        {
            for (int i = 0; i < field.Length; i++) field[i] = sites[i] ? 0 : double.PositiveInfinity;
            EuclideanDistanceTransform.TransformInPlace(field, grid, threads);
            return (double[])field.Clone();
        }
        var serial = Run(1);
        var threaded = Run(-1);
        Assert.That(threaded.AsSpan().SequenceEqual(serial), Is.True, "bit for bit"); // NUnit's element-wise compare is slow on 300k items

        var siteVoxels = BruteForce.Voxels(sites, grid.Height, grid.Width);
        for (int k = 0; k < 400; k++)
        {
            int i = random.Next(field.Length);
            var voxel = (i / (grid.Height * grid.Width), i / grid.Width % grid.Height, i % grid.Width);
            double expected = siteVoxels.Min(s => BruteForce.Distance(voxel, s, grid.SpacingZ, grid.SpacingY, grid.SpacingX));
            Assert.That(Math.Sqrt(serial[i]), Is.EqualTo(expected).Within(1e-9 * expected), $"voxel {voxel}");
        }
    }
}
