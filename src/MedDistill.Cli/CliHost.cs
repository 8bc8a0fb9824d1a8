using System.CommandLine;
using MedDistill.Data.Volumes;
using MedDistill.Torch;

namespace MedDistill.Cli;

/// <summary>
/// Runs the parsed command and maps failures to exit codes, so every command reports errors the same way:
/// 0 success, 1 a libtorch or runtime error or an unreadable data file, 2 usage errors and a native library that cannot be loaded.
/// </summary>
public static class CliHost
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitSetup = 2;

    public static int Run(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Let System.CommandLine print its usage errors; it returns 1 for them, we use 2 like other CLIs.
            parsed.Invoke();
            return ExitSetup;
        }
        // Our own handler, so native-load failures get an actionable message rather than a stack trace.
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return parsed.Invoke(config);
        }
        catch (Exception e) when (IsNativeLoadFailure(e))
        {
            Console.Error.WriteLine($"meddistill: cannot load the native library: {DescribeLoadFailure(Innermost(e))}");
            Console.Error.WriteLine("meddistill: run ./build.sh from the repository root (it installs libtorch and builds the shim), or set LIBTORCH and rebuild.");
            return ExitSetup;
        }
        catch (TorchException e)
        {
            Console.Error.WriteLine($"meddistill: libtorch error ({e.GetType().Name}): {e.Message}");
            return ExitFailure;
        }
        catch (DataFormatException e)
        {
            // The message already names the file and the problem.
            Console.Error.WriteLine($"meddistill: {e.Message}");
            return ExitFailure;
        }
        catch (FileNotFoundException e)
        {
            Console.Error.WriteLine($"meddistill: {e.Message}");
            return ExitFailure;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("meddistill: cancelled");
            return ExitFailure;
        }
    }

    /// <summary>
    /// Runs a command's body with the errors every command treats alike: an <see cref="ArgumentException"/> is bad usage
    /// (exit 2); an I/O, access or invalid-data error is a failure (exit 1). Either way one line on stderr.
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"meddistill: {Describe(e)}");
            return ExitSetup;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"meddistill: {e.Message}");
            return ExitFailure;
        }
    }

    /// <summary>The message without .NET's " (Parameter 'x')" suffix: our messages already name the argument.</summary>
    public static string Describe(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);

    private static bool IsNativeLoadFailure(Exception e) =>
        Innermost(e) is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException;

    /// <summary>
    /// The runtime's message lists every path it probed. If the shim beside our assemblies is missing, say so;
    /// otherwise the loader's line for it names the dependency that failed (libtorch, libc10, ...) and is the one
    /// line without "meddistill_torch" in it.
    /// </summary>
    private static string DescribeLoadFailure(Exception e)
    {
        var shim = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "meddistill_torch.dll" : "libmeddistill_torch.so");
        if (!File.Exists(shim)) return $"{shim} does not exist";
        var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var cause = lines.Skip(1).FirstOrDefault(l => !l.Contains("meddistill_torch", StringComparison.Ordinal));
        return cause is null ? lines.FirstOrDefault() ?? e.GetType().Name : $"{Path.GetFileName(shim)} needs {cause}";
    }

    // A failed native load can surface wrapped in a TypeInitializationException when it happens in a static constructor.
    private static Exception Innermost(Exception e)
    {
        while (e is TypeInitializationException && e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
