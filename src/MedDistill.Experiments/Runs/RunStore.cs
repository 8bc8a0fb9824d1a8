using System.Text.Json;
using System.Text.Json.Serialization;

namespace MedDistill.Experiments.Runs;

/// <summary>
/// The folder of runs: <c>--runs-dir</c>, else <c>$MEDDISTILL_RUNS</c>, else <c>runs/</c> at the repository root
/// (git-ignored). Each run lives in <c>&lt;root&gt;/&lt;id&gt;/</c>; see <see cref="RunFolder"/> for its files.
/// </summary>
public sealed class RunStore
{
    public const string EnvironmentVariable = "MEDDISTILL_RUNS";

    public RunStore(string root) => Root = Path.GetFullPath(root);

    public string Root { get; }

    /// <param name="repositoryRoot">Where <c>runs/</c> goes when neither the option nor the variable is set.</param>
    public static string Resolve(string? option, string repositoryRoot)
    {
        if (!string.IsNullOrWhiteSpace(option)) return Path.GetFullPath(option);
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env);
        return Path.Combine(Path.GetFullPath(repositoryRoot), "runs");
    }

    public RunFolder Folder(string id)
    {
        if (!IsRunId(id)) throw new ArgumentException($"'{id}' is not a run id (16 lowercase hex digits)");
        return new RunFolder(Path.Combine(Root, id), id);
    }

    /// <summary>The folder of <paramref name="spec"/>'s run, created with its spec.json when new.</summary>
    public RunFolder Create(RunSpec spec)
    {
        var id = spec.Id();
        var folder = Folder(id);
        Directory.CreateDirectory(folder.Path);
        if (!File.Exists(folder.SpecPath)) AtomicFile.WriteAllText(folder.SpecPath, spec.ToJson());
        else
        {
            var stored = RunSpec.Load(folder.SpecPath);
            if (stored.Id() != id)
                throw new InvalidDataException($"{folder.SpecPath} holds a spec whose id is {stored.Id()}, not the folder's {id}: the folder was edited by hand; remove it");
        }
        return folder;
    }

    /// <summary>Every run folder with a readable spec, by id.</summary>
    public IEnumerable<RunFolder> List()
    {
        if (!Directory.Exists(Root)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (IsRunId(name) && File.Exists(Path.Combine(dir, RunFolder.SpecFile))) yield return new RunFolder(dir, name);
        }
    }

    public static bool IsRunId(string s) => s.Length == 16 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}

/// <summary>Where a run is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))]
public enum RunStatus { Created, Running, Interrupted, Failed, Finished }

/// <summary>state.json: the run's status and position, rewritten atomically at every checkpoint and at the end.</summary>
public sealed record RunState
{
    public RunStatus Status { get; init; } = RunStatus.Created;
    public long Step { get; init; }
    public long TotalSteps { get; init; }
    public int Epoch { get; init; }
    public int? BestEpoch { get; init; }
    public double? BestValidationDice { get; init; }
    public string? Error { get; init; }
    public DateTime UpdatedUtc { get; init; }

    /// <summary>Wall seconds of the session that finished the run (training and evaluation; for the graph's estimate).</summary>
    public double? WallSeconds { get; init; }
}

/// <summary>
/// One run's files. spec.json (what), environment.json (where: commit, libtorch, device, threads; one entry per session),
/// split.json, log.csv (per step), epochs.csv (per epoch), checkpoints/last.safetensors (resume point),
/// checkpoints/best.safetensors (best validation weights), model.safetensors (the weights the run's result is from),
/// metrics.json and metrics.csv (per-case test metrics), state.json.
/// </summary>
public sealed class RunFolder(string path, string id)
{
    public const string SpecFile = "spec.json";

    /// <summary>An empty file written last, when the run is finished: the output the pipeline's run targets check.</summary>
    public const string FinishedMarker = "finished";

    public string Path { get; } = path;
    public string Id { get; } = id;
    public string SpecPath => Combine(SpecFile);
    public string StatePath => Combine("state.json");
    public string EnvironmentPath => Combine("environment.json");
    public string SplitPath => Combine("split.json");
    public string StepLogPath => Combine("log.csv");
    public string EpochLogPath => Combine("epochs.csv");
    public string ValidationLogPath => Combine("validation.csv");
    public string CheckpointDir => Combine("checkpoints");
    public string LastCheckpointPath => System.IO.Path.Combine(CheckpointDir, "last.safetensors");
    public string BestCheckpointPath => System.IO.Path.Combine(CheckpointDir, "best.safetensors");
    public string ModelPath => Combine("model.safetensors");
    public string MetricsPath => Combine("metrics.json");
    public string MetricsCsvPath => Combine("metrics.csv");
    private string LockPath => Combine(".lock");

    public RunSpec ReadSpec() => RunSpec.Load(SpecPath);

    public RunState ReadState()
    {
        if (!File.Exists(StatePath)) return new RunState();
        try { return JsonSerializer.Deserialize<RunState>(File.ReadAllText(StatePath), StateJson) ?? new RunState(); }
        catch (JsonException e) { throw new InvalidDataException($"{StatePath}: not a run state ({e.Message})"); }
    }

    public void WriteState(RunState state) =>
        AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(state with { UpdatedUtc = DateTime.UtcNow }, StateJson));

    /// <summary>Trained, weights selected and evaluated: nothing left to compute.</summary>
    public bool IsFinished => ReadState().Status == RunStatus.Finished && File.Exists(ModelPath) && File.Exists(MetricsPath);

    public string FinishedMarkerPath => Combine(FinishedMarker);

    /// <summary>Touches the finished marker (after state.json says finished).</summary>
    public void MarkFinished() => AtomicFile.WriteAllText(FinishedMarkerPath, "");

    /// <summary>
    /// Holds the run for this process until disposed, so two processes (parallel pipeline workers, a user's second shell)
    /// never write one run at once. The lock is the OS's (flock on Linux), dropped when the process dies, so a killed run can be resumed at once; the
    /// empty .lock file itself stays.
    /// </summary>
    public IDisposable Lock() => Lock(TimeSpan.Zero);

    /// <summary>
    /// As <see cref="Lock()"/>, but waits up to <paramref name="wait"/> for another holder to let go (polling: flock has
    /// no timed wait in .NET). A cluster job that finds its run held by a second graph invocation's job waits for it and
    /// then finds the run finished, instead of failing its dependent jobs.
    /// </summary>
    public IDisposable Lock(TimeSpan wait)
    {
        Directory.CreateDirectory(Path);
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try { return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { Thread.Sleep(500); }
            catch (IOException)
            {
                throw new IOException($"run {Id} is in use by another process (lock {LockPath}); wait for it to finish or stop it");
            }
        }
    }

    /// <summary>Whether some process holds the run now (probes the lock without keeping it).</summary>
    public bool IsLocked()
    {
        if (!File.Exists(LockPath)) return false;
        try
        {
            using var probe = new FileStream(LockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException) { return true; }
    }

    /// <summary>The status to show: a run left "running" that no process holds was killed or crashed.</summary>
    public RunStatus EffectiveStatus()
    {
        var status = ReadState().Status;
        return status == RunStatus.Running && !IsLocked() ? RunStatus.Interrupted : status;
    }

    private string Combine(string name) => System.IO.Path.Combine(Path, name);

    private static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <summary>Writes a whole file or nothing: a temporary sibling, flushed, then renamed over the target.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, s =>
    {
        using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), bufferSize: -1, leaveOpen: true);
        w.Write(text);
    });

    public static void Write(string path, Action<Stream> write)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var s = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                write(s);
                s.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
