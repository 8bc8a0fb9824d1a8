using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MedDistill.Data.Loading;

namespace MedDistill.Experiments.Runs;

/// <summary>The network a run trains: a model-zoo name and its construction options.</summary>
public sealed record ModelSpec
{
    public string Name { get; init; } = "enet";
    public double Width { get; init; } = 1.0;
    public int InChannels { get; init; } = 1;
    public int Classes { get; init; } = 2;
}

/// <summary>How cases are split. <c>loso</c> (leave-one-site-out) is the Affinity-KD protocol: test on <see cref="Target"/>.</summary>
public sealed record SplitSpec
{
    public string Protocol { get; init; } = "loso";

    /// <summary>Target site for <c>loso</c>: a column S1..S6 or a site name.</summary>
    public string Target { get; init; } = "S1";

    /// <summary>
    /// Share of each training site's cases held out to pick the best epoch. The paper does not say how it selected its
    /// checkpoint; 0.2 is our choice (0 = no validation: the last epoch's weights are used).
    /// </summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Seed of the validation choice (kept apart from the run seed so all methods of a table see one split).</summary>
    public ulong Seed { get; init; }
}

/// <summary>What the network sees: the preprocessed cache of a data set, the split, slices per sample and augmentation.</summary>
public sealed record DataSpec
{
    public string Dataset { get; init; } = "multisite-prostate";

    /// <summary>
    /// Folder of the preprocessed cache under <c>&lt;data-dir&gt;/cache/</c>; null = the data set's name. Lets one data set
    /// have caches at several sizes (the phantom pipeline trains on a 64×64 cache beside the default 96×96 one).
    /// </summary>
    public string? Cache { get; init; }

    /// <summary>Adjacent slices stacked as input channels (odd); must equal the model's in_channels.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Share of slices without prostate kept for training (validation and test always use whole volumes).</summary>
    public double EmptySliceFraction { get; init; } = 1.0;

    public SplitSpec Split { get; init; } = new();

    /// <summary>Augmentation of training slices; the data layer's defaults (flips, small rotations, scale, intensity).</summary>
    public AugmentationOptions Augmentation { get; init; } = new();

    /// <summary>
    /// Hash of the preprocessing recipe of the cache the run reads. Filled in when the run is created (a spec file may
    /// leave it out); part of the run id, so re-preprocessing with another recipe makes new runs.
    /// </summary>
    public string? RecipeHash { get; init; }
}

/// <summary>Optimiser and learning-rate schedule. The defaults are the Affinity-KD paper's (Adam 0.01, CyclicLR 2000 → 1e-6, 100 epochs, batch 16).</summary>
public sealed record ScheduleSpec
{
    /// <summary>Passes over the training slices; ignored when <see cref="Iterations"/> is set.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Total optimiser steps instead of epochs (the last epoch may end early); null = use epochs.</summary>
    public int? Iterations { get; init; }

    public int BatchSize { get; init; } = 16;

    /// <summary><c>adam</c> or <c>sgd</c>.</summary>
    public string Optimizer { get; init; } = "adam";

    public double LearningRate { get; init; } = 0.01;

    /// <summary>SGD momentum (Adam uses its default betas).</summary>
    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; }

    /// <summary>
    /// <c>cyclic</c> (the paper: CyclicLR between <see cref="MinLearningRate"/> and <see cref="LearningRate"/>, half-cycle
    /// <see cref="CyclicStepSize"/> steps, triangular, no momentum cycling), <c>cosine</c> (EMKD: cosine annealing to
    /// <see cref="MinLearningRate"/> over the run), <c>poly</c> (power 0.9) or <c>constant</c>.
    /// </summary>
    public string LrSchedule { get; init; } = "cyclic";

    public int CyclicStepSize { get; init; } = 2000;
    public double MinLearningRate { get; init; } = 1e-6;

    /// <summary>
    /// Validate (and keep the best weights) every this many steps and at the last step, instead of at every epoch end;
    /// null = at epoch ends. Short runs need more points than their few epochs give to show a plateau.
    /// </summary>
    public int? ValidateEvery { get; init; }
}

/// <summary>
/// The distillation method and its settings. <see cref="Name"/> is <c>none</c> for plain supervised training,
/// <c>affinity-kd</c> or <c>emkd</c>; <see cref="Options"/> holds the method's named options (unset ones keep their
/// documented defaults; an unknown name is an error that names it).
/// </summary>
public sealed record MethodSpec
{
    public string Name { get; init; } = "none";
    public JsonObject? Options { get; init; }
}

/// <summary>
/// Everything that determines a run's result. Its canonical JSON (without <see cref="Label"/>) hashed with SHA-256 is the
/// run id, so the same spec is the same run: a finished run is never recomputed, an interrupted one resumes.
/// Where the run executes (device, threads, folders, checkpoint interval) is not part of the spec.
/// </summary>
public sealed record RunSpec
{
    public const int CurrentVersion = 1;
    public const string TrainKind = "train", DistillKind = "distill";

    public int Version { get; init; } = CurrentVersion;

    /// <summary><c>train</c> (supervised) or <c>distill</c> (student taught by <see cref="Teacher"/>).</summary>
    public string Kind { get; init; } = TrainKind;

    /// <summary>A name for people (tables, listings); not part of the id.</summary>
    public string? Label { get; init; }

    public ModelSpec Model { get; init; } = new();

    /// <summary>Run id of the teacher (a finished <c>train</c> run); distill runs only.</summary>
    public string? Teacher { get; init; }

    public MethodSpec Method { get; init; } = new();
    public DataSpec Data { get; init; } = new();
    public ScheduleSpec Schedule { get; init; } = new();

    /// <summary>The segmentation loss: weights of Dice and focal, γ, smoothing (see docs). Free-form like method options.</summary>
    public JsonObject? Loss { get; init; }

    /// <summary>Seed of weight initialisation, data order, augmentation and dropout.</summary>
    public long Seed { get; init; }

    /// <summary><c>float32</c>, or <c>bf16</c> for bfloat16 autocast of the forward passes (meant for CUDA).</summary>
    public string Precision { get; init; } = "float32";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a spec; an unknown or mistyped field is an <see cref="ArgumentException"/> naming it and <paramref name="origin"/>.</summary>
    public static RunSpec FromJson(string json, string origin = "spec")
    {
        try
        {
            return JsonSerializer.Deserialize<RunSpec>(json, Json) ?? throw new ArgumentException($"{origin}: the spec is empty (null)");
        }
        catch (JsonException e)
        {
            var where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            throw new ArgumentException($"{origin}: invalid spec{where}: {FirstLine(e.Message)}");
        }
    }

    public static RunSpec Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"spec file {path} does not exist", path);
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>The canonical form the id is computed from: sorted keys, no label, no whitespace.</summary>
    public string CanonicalJson()
    {
        var node = JsonSerializer.SerializeToNode(this with { Label = null }, Json)!;
        return Canonicalise(node)!.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    /// <summary>First 16 hex digits of SHA-256 of <see cref="CanonicalJson"/>.</summary>
    public string Id()
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(CanonicalJson()));
        return Convert.ToHexStringLower(hash)[..16];
    }

    private static JsonNode? Canonicalise(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Canonicalise(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Canonicalise).ToArray()),
        null => null,
        _ => JsonNode.Parse(node.ToJsonString()),
    };

    private static string FirstLine(string s)
    {
        int i = s.IndexOf('\n');
        return (i < 0 ? s : s[..i]).Trim();
    }
}
