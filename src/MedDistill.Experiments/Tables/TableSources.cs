using System.Diagnostics;
using System.Text;

namespace MedDistill.Experiments.Tables;

/// <summary>A named set of tables (name = file name without <c>.csv</c>) and where it came from, for the report.</summary>
public sealed record TableSet(string Description, IReadOnlyDictionary<string, ResultTable> Tables);

/// <summary>
/// Where the tables of one side of a diff come from: a folder, the working copy's table folder, or a git revision.
/// A folder holds a paper profile's tables (<c>table2.csv</c>, ...) beside their <c>*.compare.csv</c> and notes, which are
/// not tables and are skipped.
/// </summary>
public static class TableSources
{
    /// <summary>The argument that means "the table folder of the working copy" (<c>--path</c> under the repository root).</summary>
    public const string WorkTree = "WORKTREE";

    /// <summary>
    /// A result table's file: <c>*.csv</c> but not the long-format <c>*.compare.csv</c> and <c>*.seeds.csv</c> beside it,
    /// nor <c>claims.csv</c> (text, not numbers), nor the run and study listings (runs, domain-shift, sensitivity).
    /// </summary>
    public static bool IsTableFile(string fileName) =>
        fileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
        && !fileName.EndsWith(".compare.csv", StringComparison.OrdinalIgnoreCase)
        && !fileName.EndsWith(".seeds.csv", StringComparison.OrdinalIgnoreCase)
        && !NotTables.Contains(Path.GetFileName(fileName), StringComparer.OrdinalIgnoreCase);

    /// <summary>CSV files of a profile folder that are listings, not result tables keyed by row label.</summary>
    private static readonly string[] NotTables = ["claims.csv", "runs.csv", "domain-shift.csv", "sensitivity.csv"];

    public static string TableName(string fileName) => fileName[..^".csv".Length];

    /// <summary>Every table file directly in <paramref name="folder"/> (not its subfolders).</summary>
    public static TableSet FromFolder(string folder, string? description = null)
    {
        if (!Directory.Exists(folder)) throw new ArgumentException($"folder {folder} does not exist");
        var tables = new SortedDictionary<string, ResultTable>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder).Where(f => IsTableFile(Path.GetFileName(f))))
            tables[TableName(Path.GetFileName(file))] = ResultTable.Read(file);
        return new TableSet(description ?? $"folder {folder}", tables);
    }

    /// <summary>
    /// The tables in <paramref name="path"/> (relative to the repository root) as committed in <paramref name="revision"/>.
    /// Unknown revisions and paths that are not folders in that revision are <see cref="ArgumentException"/>s naming them.
    /// </summary>
    public static TableSet FromRevision(string repositoryRoot, string revision, string path)
    {
        if (string.IsNullOrWhiteSpace(revision)) throw new ArgumentException("an empty git revision");
        string treePath = NormalizeRepoPath(path);
        var (ok, commit, _) = Git.Run(repositoryRoot, "rev-parse", "--verify", "--quiet", "--end-of-options", revision + "^{commit}");
        if (!ok) throw new ArgumentException($"'{revision}' is neither a folder nor a commit of the git repository at {repositoryRoot}");
        commit = commit.Trim();
        string shortCommit = commit.Length > 12 ? commit[..12] : commit;
        string display = treePath.Length == 0 ? "the repository root" : treePath;

        // Reading from the resolved commit, not the revision text, so both git calls see the same tree even if a ref moves.
        var (listed, listing, _) = Git.Run(repositoryRoot, "ls-tree", "-z", "--end-of-options", $"{commit}:{treePath}");
        if (!listed)
        {
            var (exists, type, _) = Git.Run(repositoryRoot, "cat-file", "-t", $"{commit}:{treePath}");
            throw new ArgumentException(exists
                ? $"{display} is a {(type.Trim() == "blob" ? "file" : type.Trim())}, not a folder, in revision {revision} ({shortCommit})"
                : $"{display} does not exist in revision {revision} ({shortCommit})");
        }

        var tables = new SortedDictionary<string, ResultTable>(StringComparer.Ordinal);
        foreach (var entry in listing.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            // "<mode> <type> <object>\t<name>"; subfolders (type tree) are not tables, like the folder source's non-recursion.
            int tab = entry.IndexOf('\t');
            if (tab < 0) continue;
            var meta = entry[..tab].Split(' ');
            string name = entry[(tab + 1)..];
            if (meta.Length < 3 || meta[1] != "blob" || !IsTableFile(name)) continue;
            string file = treePath.Length == 0 ? name : treePath + "/" + name;
            var (shown, csv, showError) = Git.Run(repositoryRoot, "show", $"{commit}:{file}");
            if (!shown) throw new IOException($"git show {revision}:{file} failed: {showError.Trim()}");
            tables[TableName(name)] = ResultTable.Parse(csv, $"{revision}:{file}");
        }
        return new TableSet($"revision {revision} ({shortCommit}) {display}", tables);
    }

    /// <summary>
    /// One side of a diff from its command-line argument: an existing directory is a folder (relative to the current
    /// directory); <see cref="WorkTree"/> is <paramref name="defaultPath"/> in the working copy; anything else is a git
    /// revision, optionally <c>REV:path</c> to override <paramref name="defaultPath"/>. The repository root is asked for
    /// only when needed, so folder-only diffs work outside a repository.
    /// </summary>
    public static TableSet Resolve(string argument, string defaultPath, Func<string> repositoryRoot)
    {
        if (string.IsNullOrWhiteSpace(argument)) throw new ArgumentException("an empty table source (give a folder or a git revision)");
        if (Directory.Exists(argument)) return FromFolder(argument);
        if (argument == WorkTree)
        {
            string root = repositoryRoot();
            string folder = Path.Combine(root, NormalizeRepoPath(defaultPath));
            if (!Directory.Exists(folder)) throw new ArgumentException($"{WorkTree}: folder {folder} does not exist");
            return FromFolder(folder, $"working tree {NormalizeRepoPath(defaultPath)}");
        }
        var (revision, path) = SplitRevisionPath(argument);
        return FromRevision(repositoryRoot(), revision, path ?? defaultPath);
    }

    /// <summary>
    /// Splits <c>REV:path</c> at the first colon outside braces (so <c>HEAD^{/fix: x}</c> stays one revision); no colon
    /// gives a null path. A leading colon is git's index/message syntax and is left to git.
    /// </summary>
    public static (string Revision, string? Path) SplitRevisionPath(string argument)
    {
        int depth = 0;
        for (int i = 1; i < argument.Length; i++)
        {
            char ch = argument[i];
            if (ch == '{') depth++;
            else if (ch == '}' && depth > 0) depth--;
            else if (ch == ':' && depth == 0) return (argument[..i], argument[(i + 1)..]);
        }
        return (argument, null);
    }

    /// <summary>The top of the git working tree that contains <paramref name="directory"/>.</summary>
    public static string FindRepositoryRoot(string directory)
    {
        if (!Directory.Exists(directory)) throw new ArgumentException($"folder {directory} does not exist");
        var (ok, top, error) = Git.Run(directory, "rev-parse", "--show-toplevel");
        if (!ok || top.Trim().Length == 0)
            throw new ArgumentException($"{Path.GetFullPath(directory)} is not inside a git repository ({FirstLine(error)})");
        return top.Trim();
    }

    /// <summary>A path inside the repository in git's form: forward slashes, no leading <c>./</c> or trailing slash.</summary>
    internal static string NormalizeRepoPath(string path)
    {
        var p = path.Replace('\\', '/').Trim();
        while (p.StartsWith("./", StringComparison.Ordinal)) p = p[2..];
        p = p.TrimEnd('/');
        if (p == ".") p = "";
        if (p.StartsWith('/') || p.Split('/').Contains(".."))
            throw new ArgumentException($"--path {path}: give a folder relative to the repository root, without '..'");
        return p;
    }

    private static string FirstLine(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "git gave no reason";

    private static class Git
    {
        public static (bool Ok, string Stdout, string Stderr) Run(string workingDirectory, params string[] args)
        {
            var psi = new ProcessStartInfo("git")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = new UTF8Encoding(false),
                StandardErrorEncoding = new UTF8Encoding(false),
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            // Never wait for a credential prompt or a pager in a nightly job.
            psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
            psi.Environment["GIT_PAGER"] = "cat";
            Process? p;
            try { p = Process.Start(psi); }
            catch (System.ComponentModel.Win32Exception e) { throw new IOException($"cannot run git ({e.Message}); is git installed and on PATH?", e); }
            if (p is null) throw new IOException("cannot run git");
            using (p)
            {
                // stderr is drained concurrently so a chatty git cannot block on a full pipe while we read stdout.
                var stderr = p.StandardError.ReadToEndAsync();
                string stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                return (p.ExitCode == 0, stdout, stderr.Result);
            }
        }
    }
}
