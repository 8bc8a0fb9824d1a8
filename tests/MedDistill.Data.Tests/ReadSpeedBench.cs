using System.Diagnostics;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// Read throughput of the NIfTI reader (a benchmark, not a test: it asserts nothing about time). Run with
/// <c>dotnet test tests/MedDistill.Data.Tests -c Release --filter Name~ReadSpeed</c>; figures go to docs/readme-readers.md.
/// </summary>
[Explicit("benchmark: prints read speeds, run by name")]
public class ReadSpeedBench : TempDirTest
{
    [TestCase("vol.nii", VoxelType.Int16)]
    [TestCase("vol.nii.gz", VoxelType.Int16)]
    [TestCase("vol.nii", VoxelType.Float32)]
    [TestCase("vol.nii.gz", VoxelType.Float32)]
    public void Nifti256x256x64(string name, VoxelType type)
    {
        // A CT-like volume: smooth structure plus noise, so gzip sees realistic (not trivially compressible) data.
        var random = new Random(1);
        int nz = 64, ny = 256, nx = 256;
        var data = new float[nz * ny * nx];
        for (int z = 0; z < nz; z++)
            for (int y = 0; y < ny; y++)
                for (int x = 0; x < nx; x++)
                    data[(z * ny + y) * nx + x] = MathF.Round(400 * MathF.Sin(x / 20f) * MathF.Cos(y / 30f) + z + random.Next(-30, 30));
        var path = PathOf(name);
        Nifti.Write(path, new Volume(data, new[] { nz, ny, nx }), type);

        Nifti.Read(path); // warm-up: JIT, page cache
        var times = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            var watch = Stopwatch.StartNew();
            var v = Nifti.Read(path);
            times.Add(watch.Elapsed.TotalSeconds);
            Assert.That(v.Data[12345], Is.EqualTo(data[12345]));
        }
        times.Sort();
        double median = times[times.Count / 2];
        double mb = data.Length * (double)Nifti.BytesPer(type) / 1e6;
        TestContext.Out.WriteLine(FormattableString.Invariant(
            $"read-speed {name} {type}: {mb:F1} MB stored ({new FileInfo(path).Length / 1e6:F1} MB on disk), median {median * 1000:F1} ms, {mb / median:F0} MB/s, {data.Length / median / 1e6:F0} Mvoxel/s"));
    }
}
