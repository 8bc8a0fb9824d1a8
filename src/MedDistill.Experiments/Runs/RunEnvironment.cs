using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using MedDistill.Torch;

namespace MedDistill.Experiments.Runs;

/// <summary>
/// Where and with what a run (or one session of it: a resumed run has several) executed. Written to environment.json
/// so every number can be traced to a commit, a libtorch build and a device.
/// </summary>
public sealed record RunEnvironment
{
    /// <summary>The harness build (version+commit the binary was built from).</summary>
    public required string Build { get; init; }

    /// <summary><c>git rev-parse HEAD</c> of the working tree, with "-dirty" when tracked files differ; null outside git.</summary>
    public string? Commit { get; init; }

    public required string Libtorch { get; init; }
    public required string Device { get; init; }
    public required int Threads { get; init; }
    public string? Blas { get; init; }

    /// <summary>OpenBLAS's core type (its kernels, and so the last bits of every result, depend on it); null for other BLAS.</summary>
    public string? BlasCore { get; init; }

    /// <summary>OpenBLAS's own thread count (null when libtorch does not use OpenBLAS); set_num_threads sets it too.</summary>
    public int? BlasThreads { get; init; }

    /// <summary>How the C heap returns freed memory (<see cref="NativeHeap.Setting"/>); null in records made before it existed.</summary>
    public string? Heap { get; init; }
    public required string Dotnet { get; init; }
    public required string Os { get; init; }
    public string? Cpu { get; init; }

    /// <summary>
    /// The vector extensions among those libtorch dispatches its CPU kernels on (avx512f/bw/vl/dq, avx2, fma) that the
    /// CPU offers: runs agree bit for bit only between machines that pick the same kernels.
    /// </summary>
    public string? CpuVectorUnits { get; init; }

    /// <summary><c>ATEN_CPU_CAPABILITY</c> when set (it makes libtorch use older kernels than the CPU offers).</summary>
    public string? CpuCapabilityOverride { get; init; }
    public required string Host { get; init; }
    public required DateTime StartedUtc { get; init; }

    /// <summary>What the run goes on: the device and thread count the trainer uses, as set by the caller.</summary>
    public static RunEnvironment Capture(Device device, string? workingTree = null) => new()
    {
        Build = typeof(RunEnvironment).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
        Commit = GitCommit(workingTree ?? Directory.GetCurrentDirectory()),
        Libtorch = torch.__version__,
        Device = device.ToString(),
        Threads = torch.get_num_threads(),
        Blas = BlasLibrary.MappedPath(),
        BlasCore = BlasLibrary.CoreName(),
        BlasThreads = torch.get_blas_num_threads(),
        Heap = NativeHeap.Setting,
        Dotnet = RuntimeInformation.FrameworkDescription,
        Os = RuntimeInformation.OSDescription,
        Cpu = CpuModel(),
        CpuVectorUnits = CpuVectorUnitsOf(CpuFlags()),
        CpuCapabilityOverride = Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY") is { Length: > 0 } o ? o : null,
        Host = Environment.MachineName,
        StartedUtc = DateTime.UtcNow,
    };

    private static string? GitCommit(string dir)
    {
        var head = Git(dir, "rev-parse HEAD");
        if (head is null) return null;
        var status = Git(dir, "status --porcelain --untracked-files=no");
        return string.IsNullOrWhiteSpace(status) ? head : head + "-dirty";
    }

    private static string? Git(string dir, string args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", args)
            {
                WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            if (!p.WaitForExit(10_000)) { p.Kill(); return null; }
            return p.ExitCode == 0 ? output.Trim() : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return null;
        }
    }

    private static string? CpuModel()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return null;
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? null : $"{line[(line.IndexOf(':') + 1)..].Trim()} ×{Environment.ProcessorCount}";
        }
        catch (IOException) { return null; }
    }

    /// <summary>The extensions libtorch's CPU dispatch looks at, in its order, that <paramref name="flags"/> names.</summary>
    public static string? CpuVectorUnitsOf(IReadOnlySet<string>? flags)
    {
        if (flags is null) return null;
        string[] units = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx2", "fma"];
        var present = units.Where(flags.Contains).ToList();
        return present.Count == 0 ? "none" : string.Join(' ', present);
    }

    private static IReadOnlySet<string>? CpuFlags()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return null;
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? null : line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        }
        catch (IOException) { return null; }
    }
}
