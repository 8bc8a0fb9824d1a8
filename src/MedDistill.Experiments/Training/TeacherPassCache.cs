using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MedDistill.Experiments.Runs;
using MedDistill.Models;
using MedDistill.Torch;
using MedDistill.Torch.Serialization;

namespace MedDistill.Experiments.Training;

/// <summary>
/// The frozen teacher's feature maps of every training step, kept on disk beside the teacher run and shared by every
/// student that sees the same batches.
/// <para>
/// Why: the teacher is frozen and in eval mode, so its maps at step k depend only on the batch of step k, and the batch
/// depends only on the data section, the seed and the batch size of the student's spec. All students of one teacher and
/// target in a table share those (they differ in network and method), so the teacher's pass — most of a distillation
/// step's time on the CPU — is computed once per step instead of once per student. Reading the stored maps gives the
/// very bytes the pass would compute (float32 written and read exactly), so a run's result does not depend on whether
/// the cache was there.
/// </para>
/// <para>
/// Layout: <c>&lt;teacher run&gt;/teacher-pass/&lt;key&gt;/step-NNNNNN.safetensors</c>, one file per step holding the
/// logits and whatever taps the students asked for so far (a student needing a tap a file lacks recomputes that step
/// and rewrites the file with the union). Files are written atomically, so a killed writer or two concurrent writers
/// leave only complete files; an unreadable file is recomputed and replaced.
/// </para>
/// </summary>
public sealed class TeacherPassCache
{
    public const string FolderName = "teacher-pass";
    private const string LogitsEntry = "logits";
    private const string TapPrefix = "tap.";

    private readonly string folder;

    private TeacherPassCache(string folder) => this.folder = folder;

    public string Folder => folder;

    /// <summary>Steps served from disk and steps whose teacher pass ran (and was stored) in this session.</summary>
    public long Hits { get; private set; }
    public long Misses { get; private set; }

    /// <summary>
    /// The cache of <paramref name="run"/>'s teacher for the run's batch sequence, or null for runs without a teacher.
    /// The key covers everything the batch of a step and the teacher's output depend on.
    /// </summary>
    public static TeacherPassCache? For(PreparedRun run, Device device)
    {
        if (run.Teacher is null) return null;
        return new TeacherPassCache(Path.Combine(run.Teacher.Path, FolderName, Key(run.Spec, run.Teacher.Id, device)));
    }

    /// <summary>SHA-256 (16 hex digits) of the teacher id, the student's data section, seed, batch size, precision and device type.</summary>
    public static string Key(RunSpec student, string teacherId, Device device)
    {
        var node = new JsonObject
        {
            ["format"] = "teacher-pass/1",
            ["teacher"] = teacherId,
            ["data"] = System.Text.Json.JsonSerializer.SerializeToNode(student.Data, RunSpec.Json),
            ["seed"] = student.Seed,
            ["batchSize"] = student.Schedule.BatchSize,
            ["precision"] = student.Precision,
            ["device"] = device.Type.ToString(),
        };
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(node)));
        return Convert.ToHexStringLower(hash)[..16];
    }

    /// <summary>
    /// The teacher's maps of <paramref name="step"/> with <paramref name="taps"/>: read from disk when the step's file has
    /// them all, otherwise computed by <paramref name="compute"/> and stored. Tensors belong to the caller's dispose scope.
    /// </summary>
    public FeatureMaps Get(long step, IReadOnlyList<string> taps, Device device, Func<FeatureMaps> compute)
    {
        var path = StepPath(step);
        Dictionary<string, Tensor>? stored = null;
        if (File.Exists(path))
        {
            try { stored = Safetensors.Load(path, device); }
            catch (Exception e) when (e is SafetensorsFormatException or IOException) { stored = null; }
        }
        if (stored is not null && stored.ContainsKey(LogitsEntry) && taps.All(t => stored.ContainsKey(TapPrefix + t)))
        {
            Hits++;
            return new FeatureMaps(stored[LogitsEntry], taps.ToDictionary(t => t, t => stored[TapPrefix + t]));
        }

        var maps = compute();
        Misses++;
        var entries = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [LogitsEntry] = maps.Logits };
        foreach (var (tap, tensor) in maps.Maps) entries[TapPrefix + tap] = tensor;
        // Keep what earlier students stored, so a file only ever grows towards the union of the taps asked for.
        if (stored is not null)
            foreach (var (name, tensor) in stored)
                entries.TryAdd(name, tensor);
        Directory.CreateDirectory(folder);
        Safetensors.Save(path, entries);
        return maps;
    }

    private string StepPath(long step) => Path.Combine(folder, $"step-{step:D6}.safetensors");

    private static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => System.Text.Json.JsonSerializer.Serialize(p.Key) + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };
}
