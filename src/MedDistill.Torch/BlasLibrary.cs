using System.Runtime.InteropServices;

namespace MedDistill.Torch;

/// <summary>
/// The BLAS library libtorch's CPU kernels call, as mapped into this process. OpenBLAS picks its kernels by CPU
/// ("core type": Haswell, Zen, SkylakeX, …; <c>OPENBLAS_CORETYPE</c> overrides it), and the kernels round differently,
/// so two machines agree bit for bit only when they run the same core type.
/// </summary>
public static class BlasLibrary
{
    /// <summary>The mapped libblas / libopenblas / libmkl file (links resolved), or null (no /proc, none mapped).</summary>
    public static string? MappedPath()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        try
        {
            foreach (var line in File.ReadLines(maps))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                var path = line[slash..];
                var name = Path.GetFileName(path);
                if (name.StartsWith("libblas.so", StringComparison.Ordinal) || name.StartsWith("libopenblas", StringComparison.Ordinal)
                    || name.StartsWith("libmkl", StringComparison.Ordinal))
                {
                    try { return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path; }
                    catch (IOException) { return path; }
                }
            }
        }
        catch (IOException) { }
        return null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr CoreNameFn();

    /// <summary>OpenBLAS's core type (<c>openblas_get_corename</c>), or null when the mapped BLAS is not OpenBLAS.</summary>
    public static string? CoreName()
    {
        var path = MappedPath();
        if (path is null || !NativeLibrary.TryLoad(path, out var handle)) return null;
        try
        {
            if (!NativeLibrary.TryGetExport(handle, "openblas_get_corename", out var fn)) return null;
            return Marshal.PtrToStringAnsi(Marshal.GetDelegateForFunctionPointer<CoreNameFn>(fn)());
        }
        finally { NativeLibrary.Free(handle); }
    }
}
