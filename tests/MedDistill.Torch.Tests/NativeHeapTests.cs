using MedDistill.Torch;

namespace MedDistill.Torch.Tests;

/// <summary>
/// <see cref="NativeHeap.Retain"/> sets glibc's thresholds. Its effect on time (kernel seconds of a run) is a benchmark
/// figure (docs/benchmarks.md, "The C heap"), not a test: page faults of a test thread depend on which malloc arena the
/// test runner's thread got, so a fault count here would be flaky.
/// </summary>
[NonParallelizable]
public class NativeHeapTests
{
    [Test]
    public void Retain_SetsGlibcThresholds_AndRecordsThem()
    {
        if (!OperatingSystem.IsLinux() || !NativeHeap.Retain()) Assert.Ignore("not glibc: nothing to retain");
        Assert.That(NativeHeap.Setting, Is.EqualTo($"glibc malloc: trim threshold {int.MaxValue} B, mmap threshold {NativeHeap.MaxMmapThreshold} B"));
        try
        {
            Assert.That(NativeHeap.Retain(1 << 20, 1 << 17), Is.True);
            Assert.That(NativeHeap.Setting, Is.EqualTo("glibc malloc: trim threshold 1048576 B, mmap threshold 131072 B"));
            // Tensors still allocate and free under the new thresholds.
            using var t = torch.ones(1 << 20);
            using var sum = t.sum();
            Assert.That(sum.item<float>(), Is.EqualTo(1 << 20));
        }
        finally
        {
            NativeHeap.Retain();
        }
    }

    [Test]
    public void Retain_RejectsThresholdsGlibcWouldRefuse()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeHeap.Retain(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeHeap.Retain(mmapThreshold: NativeHeap.MaxMmapThreshold + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeHeap.Retain(mmapThreshold: -1));
    }
}
