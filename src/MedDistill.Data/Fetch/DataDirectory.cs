namespace MedDistill.Data.Fetch;

/// <summary>Where datasets live: <c>--data-dir</c>, else <c>$MEDDISTILL_DATA</c>, else <c>data/</c> beside the manifest (the repository root, git-ignored).</summary>
public static class DataDirectory
{
    public const string EnvironmentVariable = "MEDDISTILL_DATA";

    public static string Resolve(string? option, string manifestPath)
    {
        if (!string.IsNullOrWhiteSpace(option)) return Path.GetFullPath(option);
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env);
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, "data");
    }
}
