using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

/// <summary>
/// How the process's C heap (libtorch's tensors on the CPU) hands freed memory back to the kernel. Not in TorchSharp:
/// ours, because a CPU training run here is one small network stepping hundreds of times in one process.
/// <para>
/// glibc's defaults return every freed block above a dynamic mmap threshold, and the top of the heap past 128 KiB, to
/// the kernel; each step then faults its feature maps in again. A 400-step MobileNetV2-UNet run at 96×96 spent 17.8 of
/// its 65 CPU seconds in the kernel that way and 1.6 s with <see cref="Retain"/> (same weights, byte for byte;
/// docs/benchmarks.md, "The C heap"). Retaining changes which pages are reused, never what is computed, and the
/// resident set stays at the run's peak instead of rising and falling every step.
/// </para>
/// </summary>
public static class NativeHeap
{
    /// <summary>glibc's upper bound for the mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): 32 MiB.</summary>
    public const int MaxMmapThreshold = 32 * 1024 * 1024;

    /// <summary>What <see cref="Retain"/> last set, for run records; "default" until it is called or where it does nothing.</summary>
    public static string Setting { get; private set; } = "default";

    /// <summary>
    /// Keep freed memory in the process: blocks under <paramref name="mmapThreshold"/> bytes come from the heap, and the
    /// heap's top is returned only beyond <paramref name="trimThreshold"/> bytes. Returns false where the C library is
    /// not glibc (nothing changes there).
    /// </summary>
    public static bool Retain(int trimThreshold = int.MaxValue, int mmapThreshold = MaxMmapThreshold)
    {
        if (trimThreshold < 0) throw new ArgumentOutOfRangeException(nameof(trimThreshold), trimThreshold, "must not be negative");
        if (mmapThreshold < 0 || mmapThreshold > MaxMmapThreshold)
            throw new ArgumentOutOfRangeException(nameof(mmapThreshold), mmapThreshold, $"glibc accepts 0 to {MaxMmapThreshold} bytes");
        if (!OperatingSystem.IsLinux()) return false;
        switch (Native.mdt_retain_freed_heap(trimThreshold, mmapThreshold))
        {
            case 1:
                Setting = $"glibc malloc: trim threshold {trimThreshold} B, mmap threshold {mmapThreshold} B";
                return true;
            case 0:
                throw new InvalidOperationException($"glibc refused trim threshold {trimThreshold} or mmap threshold {mmapThreshold} (mallopt returned 0)");
            default:
                return false;
        }
    }
}
