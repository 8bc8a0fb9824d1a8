using System.Text.Json.Nodes;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// One setting of the sensitivity study: which open choice of the paper it varies, its value, the sentence of the paper
/// the choice serves, and the spec edit (method options merged into the as-written ones, or a segmentation loss).
/// </summary>
public sealed record SensitivityVariant(string Choice, string Variant, string PaperSays, JsonObject? MethodOptions = null, JsonObject? Loss = null)
{
    /// <summary>A file- and key-safe name: choice and variant.</summary>
    public string Key => $"{Choice}/{Variant}".Replace(' ', '_');
}

/// <summary>
/// The sensitivity study of Affinity-KD (table name <c>sensitivity</c>): ENet ← T1 and ENet ← T2 with all three terms on
/// every target, varying one open choice of the paper at a time. The as-written configuration is the reference — the
/// very runs of Table 2's "ENet w/ T1" and "ENet w/ T2" cells — and ENet w/o KD is the baseline the paper claims to beat.
/// No variant changes a default: each is its own run with its own rows.
/// </summary>
public static class AffinityKdSensitivity
{
    public const string Table = "sensitivity";
    public const string Reference = "as written";
    public const string Baseline = "ENet w/o";

    private static JsonObject O(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>
    /// The default study: one or two values of each open choice the paper leaves to the reader (9 × 2 teachers × 6 targets
    /// = 108 runs beyond Table 2's).
    /// </summary>
    public static IReadOnlyList<SensitivityVariant> Default { get; } =
    [
        new("aam-margin", "m = 1", "eq. 4: max(0, m − W_ij), m not given (as written: m = 3, about AAF's)", O("""{"affinity":{"margin":1}}""")),
        new("aam-margin", "m = 0.3", "eq. 4: max(0, m − W_ij), m not given", O("""{"affinity":{"margin":0.3}}""")),
        new("aam-neighbourhood", "dilations 1, 2", "\"pixel i and its neighbor j\" (as written: 3×3, dilation 1)", O("""{"affinity":{"dilations":[1,2]}}""")),
        new("aam-wij", "student i, teacher j", "eq. 3: W_ij = KL(F_i ‖ F_j), whose F not said (as written: the student's at both)", O("""{"affinity":{"compare":"studentTeacher"}}""")),
        new("lm-direction", "KL(t ‖ s)", "eq. 7 writes KL(p_s ‖ p_t) (as written); Hinton's KD uses KL(p_t ‖ p_s)", O("""{"logits":{"direction":"teacherToStudent"}}""")),
        new("lm-temperature", "T = 4", "eq. 7 names no temperature (as written: T = 1)", O("""{"logits":{"temperature":4}}""")),
        new("kmm-normalisation", "no L2 normalisation", "eqs. 5–6: K = X·Xᵀ, normalisation not said (as written: rows L2-normalised, as full kernel-matrix KD)", O("""{"kernelMatrix":{"normalise":false}}""")),
        new("lambda", "λ3 = 0.09 (AAM ×0.1)", "eq. 8: λ1 0.2, λ2 0.9, λ3 0.9 (as written)", O("""{"affinityWeight":0.09}""")),
        new("seg-loss", "Dice only", "\"either\" Dice or focal for L_seg (as written: 0.5·Dice + 0.5·focal)", Loss: O("""{"diceWeight":1,"focalWeight":0}""")),
    ];

    /// <summary>More values, for <c>--full</c> (8 × 2 teachers × 6 targets = 96 more runs).</summary>
    public static IReadOnlyList<SensitivityVariant> Extra { get; } =
    [
        new("aam-margin", "m = 6", "eq. 4, m not given", O("""{"affinity":{"margin":6}}""")),
        new("aam-neighbourhood", "5×5", "\"pixel i and its neighbor j\"", O("""{"affinity":{"kernel":5}}""")),
        new("kmm-layer", "decoder taps", "\"the feature maps\" of eqs. 5–6, layer not said (as written: the encoder's)",
            O("""{"kernelMatrix":{"studentTap":"decoder","teacherTap":"decoder"}}""")),
        new("lambda", "all λ ×0.1", "eq. 8 weights", O("""{"logitsWeight":0.02,"kernelMatrixWeight":0.09,"affinityWeight":0.09}""")),
        new("lambda", "λ1 = 0.02 (LM ×0.1)", "eq. 8: λ1 = 0.2 (as written)", O("""{"logitsWeight":0.02}""")),
        new("lambda", "λ2 = 0.09 (KMM ×0.1)", "eq. 8: λ2 = 0.9 (as written)", O("""{"kernelMatrixWeight":0.09}""")),
        // AAM still computed and logged, only weighted 0: the same objective as Table 4's "LM + KMM", through the λ route.
        new("lambda", "λ3 = 0 (AAM off)", "eq. 8: λ3 = 0.9 (as written)", O("""{"affinityWeight":0}""")),
        new("seg-loss", "focal only", "\"either\" Dice or focal", Loss: O("""{"diceWeight":0,"focalWeight":1}""")),
    ];

    public static IReadOnlyList<SensitivityVariant> Variants(bool full) => full ? [.. Default, .. Extra] : Default;

    /// <summary>Row label of a study cell: teacher tag, choice and variant (the reference and baseline rows have their own).</summary>
    public static string Row(string tag, SensitivityVariant v) => $"{tag} | {v.Choice} | {v.Variant}";
    public static string ReferenceRow(string tag) => $"{tag} | {Reference}";

    /// <summary>
    /// The study's runs for <paramref name="profile"/>: Table 2's teachers, ENet w/o and ENet w/ T1/T2 (shared ids), plus
    /// one run per variant, teacher and target.
    /// </summary>
    public static IReadOnlyList<PlannedRun> Plan(ExperimentProfile profile, string recipeHash, IReadOnlyCollection<string> zoo, bool full)
    {
        var table2 = AffinityKdExperiment.Plan(profile, recipeHash, zoo, ["table2"]);
        var runs = new List<PlannedRun>();
        foreach (var r in table2)
        {
            var cells = new List<TableCell>();
            foreach (var c in r.Cells)
            {
                if (c.Row == "ENet w/o") cells.Add(new(Table, Baseline, c.Column));
                foreach (var (tag, _, _) in AffinityKdExperiment.Teachers)
                    if (c.Row == $"ENet w/ {tag}") cells.Add(new(Table, ReferenceRow(tag), c.Column));
            }
            if (r.IsTeacher || cells.Count > 0) runs.Add(r with { Cells = cells });
        }
        foreach (var reference in runs.Where(r => r.Cells.Any(c => c.Row.EndsWith(Reference, StringComparison.Ordinal))).ToList())
        {
            var cell = reference.Cells.First(c => c.Row.EndsWith(Reference, StringComparison.Ordinal));
            var tag = cell.Row[..cell.Row.IndexOf(' ')];
            foreach (var v in Variants(full))
            {
                var spec = Apply(reference.Spec, v) with { Label = $"enet w/ {tag}, {v.Choice} = {v.Variant}, target {cell.Column}" };
                var key = $"sensitivity/enet/{tag}/{v.Key}/{cell.Column}";
                runs.Add(new PlannedRun(key, spec, spec.Id(), reference.TeacherKey, [new(Table, Row(tag, v), cell.Column)]));
            }
        }
        return runs;
    }

    /// <summary>
    /// The runs of <paramref name="tables"/>, which may name <c>sensitivity</c> beside table2..table4: one plan, runs that
    /// serve several tables merged (cells united), teachers first.
    /// </summary>
    public static IReadOnlyList<PlannedRun> PlanTables(ExperimentProfile profile, string recipeHash, IReadOnlyCollection<string> zoo,
        IReadOnlyCollection<string> tables, bool full)
    {
        var paperTables = tables.Where(t => t != Table).ToList();
        var parts = new List<IReadOnlyList<PlannedRun>>();
        if (paperTables.Count > 0) parts.Add(AffinityKdExperiment.Plan(profile, recipeHash, zoo, paperTables));
        if (tables.Contains(Table)) parts.Add(Plan(profile, recipeHash, zoo, full));
        var merged = new Dictionary<string, PlannedRun>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var run in parts.SelectMany(p => p))
        {
            if (merged.TryGetValue(run.Key, out var seen)) merged[run.Key] = seen with { Cells = [.. seen.Cells, .. run.Cells.Except(seen.Cells)] };
            else { merged[run.Key] = run; order.Add(run.Key); }
        }
        return order.Select(k => merged[k]).OrderBy(r => r.IsTeacher ? 0 : 1).ToList();
    }

    /// <summary>The reference spec with the variant's method options merged in (objects merge key by key) or its loss.</summary>
    public static RunSpec Apply(RunSpec reference, SensitivityVariant v)
    {
        var spec = reference;
        if (v.MethodOptions is not null)
        {
            var merged = (JsonObject)(reference.Method.Options?.DeepClone() ?? new JsonObject());
            Merge(merged, v.MethodOptions);
            spec = spec with { Method = spec.Method with { Options = merged } };
        }
        if (v.Loss is not null) spec = spec with { Loss = (JsonObject)v.Loss.DeepClone() };
        return spec;
    }

    private static void Merge(JsonObject into, JsonObject from)
    {
        foreach (var (key, value) in from)
        {
            if (value is JsonObject child && into[key] is JsonObject existing) Merge(existing, child);
            else into[key] = value?.DeepClone();
        }
    }
}
