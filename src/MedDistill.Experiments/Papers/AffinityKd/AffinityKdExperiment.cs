using System.Globalization;
using System.Text.Json.Nodes;
using MedDistill.Data.Splits;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// The Affinity-KD paper as runs: every reproducible cell of Tables 2–4 maps to one run spec of a profile.
/// <list type="bullet">
/// <item>Table 2: T1 DeepLabV3+ and T2 UNet++; ENet, ESPNet, ERFNet without KD and with Affinity-KD (LM+KMM+AAM) from
/// T1 and from T2; six target sites, leave-one-site-out.</item>
/// <item>Table 3: ENet with Affinity-KD from T1 (Table 2's cell), with EMKD and with MSKD (reconstructed from its abstract,
/// docs/distillation.md) from T1; SAML and DRDG are not implemented and keep their published values, marked not reproduced.</item>
/// <item>Table 4: ENet ← DeepLabV3+ with each non-empty subset of LM, AAM, KMM (all three is Table 2's cell).</item>
/// </list>
/// Cells that name the same spec share one run (e.g. Table 4's "+AAM + KMM + LM" is Table 2's "ENet w/ T1").
/// </summary>
public static class AffinityKdExperiment
{
    public const string Paper = "affinity-kd";
    public static readonly string[] Targets = ["S1", "S2", "S3", "S4", "S5", "S6"];
    public static readonly string[] Tables = ["table2", "table3", "table4"];
    public const string MeanColumn = "mean";

    /// <summary>Teachers as the paper numbers them: T1 DeepLabV3+, T2 UNet++.</summary>
    public static readonly (string Tag, string Model, string Label)[] Teachers = [("T1", "deeplabv3plus", "DeepLabV3+"), ("T2", "unetpp", "UNet++")];

    /// <summary>
    /// Students with their zoo names. ESPNet is the EMKD variant when the zoo has it: the exact-count ESPNet cannot use its
    /// deep path with 2 classes (docs/models.md), which the paper's trained ESPNet evidently did.
    /// </summary>
    public static (string Label, string Model)[] Students(IReadOnlyCollection<string> zoo) =>
        [("ENet", "enet"), ("ESPNet", zoo.Contains("espnet-emkd") ? "espnet-emkd" : "espnet"), ("ERFNet", "erfnet")];

    /// <summary>Rows of Table 4 (after its teacher and student rows): label → Affinity-KD terms.</summary>
    public static readonly (string Row, string Terms)[] Ablation =
    [
        ("+LM", "lm"), ("+AAM", "aam"), ("+KMM", "kmm"), ("+KMM + LM", "lm+kmm"), ("+AAM + LM", "lm+aam"), ("+AAM + KMM", "kmm+aam"),
        ("+AAM + KMM + LM", "lm+kmm+aam"),
    ];

    /// <summary>Table 3's rows that are published only (methods the harness does not implement).</summary>
    public static readonly string[] NotReproducedTable3 = ["SAML", "DRDG"];

    public static readonly ExperimentProfile PaperProfile = new()
    {
        Name = "paper", Targets = Targets,
        Description = "the paper's setting: real multi-site prostate MRI at 384×384, full-width networks, Adam 0.01 with CyclicLR (2000, 1e-6), 100 epochs, batch 16; meant for a GPU",
        Dataset = "multisite-prostate", Cache = "multisite-prostate", CacheSize = 384,
        Schedule = new ScheduleSpec(),
    };

    public static readonly ExperimentProfile NightlyProfile = new()
    {
        Name = "nightly", Targets = Targets,
        Description = "real data and full-width networks with a shortened schedule (10 epochs, CyclicLR half-cycle 500), for nightly regression on a GPU runner",
        Dataset = "multisite-prostate", Cache = "multisite-prostate", CacheSize = 384,
        Schedule = new ScheduleSpec { Epochs = 10, CyclicStepSize = 500 },
    };

    public static readonly ExperimentProfile PhantomProfile = new()
    {
        Name = "phantom", Targets = Targets,
        Description = "the built-in six-site phantom (the real data set's case counts) at 48×48, teachers at width 0.125 and students at 0.25, batch 8, Adam 0.01 with two CyclicLR cycles (teachers 960 steps, students 2560), 16 validations per run, on 2 CPU cores; runs.csv says which runs passed the plateau test",
        Dataset = "phantom-prostate", Cache = "phantom-prostate-48", CacheSize = 48,
        TeacherWidth = 0.125, StudentWidth = 0.25,
        // Four times the students' former 640 steps and twice the teachers' 480: at those lengths the ENet w/o, ENet ← T1
        // and teacher probes gained at most 0.02 in their second cycle (docs/pipeline.md, "How long the phantom trains").
        Schedule = new ScheduleSpec { Iterations = 2560, BatchSize = 8, CyclicStepSize = 640, ValidateEvery = 160 },
        TeacherSchedule = new ScheduleSpec { Iterations = 960, BatchSize = 8, CyclicStepSize = 240, ValidateEvery = 60 },
        EmptySliceFraction = 0.25, ThreadsPerRun = 1,
    };

    /// <summary>
    /// What the test suite runs (the snapshot tests plan it with one target): the phantom at 32×32 and three steps per run.
    /// It exercises the whole graph in minutes and reproduces nothing.
    /// </summary>
    public static readonly ExperimentProfile SmokeProfile = new()
    {
        Name = "smoke", Targets = Targets,
        Description = "a smoke test of the graph, not a reproduction: the built-in phantom at 32×32, teachers at width 0.125 and students at 0.25, 3 steps of batch 16 per run; its numbers mean nothing",
        Dataset = "phantom-prostate", Cache = "phantom-prostate-32", CacheSize = 32,
        TeacherWidth = 0.125, StudentWidth = 0.25,
        Schedule = new ScheduleSpec { Iterations = 3, BatchSize = 16, CyclicStepSize = 2 },
        ThreadsPerRun = 1,
    };

    public static IReadOnlyList<ExperimentProfile> Profiles { get; } = [PhantomProfile, SmokeProfile, PaperProfile, NightlyProfile];

    public static ExperimentProfile Profile(string name) =>
        Profiles.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"profile: '{name}' is not known; known: {string.Join(", ", Profiles.Select(p => p.Name))}");

    /// <summary>
    /// The runs of <paramref name="tables"/> (default all) under <paramref name="profile"/>, teachers first. The ids need
    /// the cache's recipe hash (part of every spec), so planning happens after the prepare step.
    /// </summary>
    public static IReadOnlyList<PlannedRun> Plan(ExperimentProfile profile, string recipeHash, IReadOnlyCollection<string> zoo, IEnumerable<string>? tables = null)
    {
        var wanted = (tables ?? Tables).ToHashSet(StringComparer.Ordinal);
        foreach (var t in wanted)
            if (!Tables.Contains(t)) throw new ArgumentException($"table '{t}' is not a table of {Paper}; tables: {string.Join(", ", Tables)} (table1 has no runs)");
        var runs = new Dictionary<string, (RunSpec Spec, string? Teacher, List<TableCell> Cells)>(StringComparer.Ordinal);
        var order = new List<string>();

        string Ensure(string key, RunSpec spec, string? teacher)
        {
            if (!runs.ContainsKey(key))
            {
                runs[key] = (spec, teacher, []);
                order.Add(key);
            }
            return key;
        }

        string Add(string key, RunSpec spec, string? teacher, TableCell cell)
        {
            Ensure(key, spec, teacher);
            runs[key].Cells.Add(cell);
            return key;
        }

        foreach (var target in profile.Targets)
        {
            if (!Targets.Contains(target)) throw new ArgumentException($"profile {profile.Name}: '{target}' is not one of {string.Join(", ", Targets)}");
            string TeacherKey(string model) => $"teacher/{model}/{target}";
            RunSpec Teacher(string model) =>
                Base(profile, recipeHash, target, model, profile.TeacherWidth, $"{model} teacher, target {target}") with { Schedule = profile.TeacherSchedule ?? profile.Schedule };
            RunSpec Student(string model) => Base(profile, recipeHash, target, model, profile.StudentWidth, $"{model} w/o KD, target {target}");
            string Id(string key) => runs[key].Spec.Id();
            RunSpec Distilled(string model, string teacherKey, string method, string? terms, string label) =>
                Student(model) with
                {
                    Kind = RunSpec.DistillKind, Label = label, Teacher = Id(teacherKey),
                    Method = new MethodSpec { Name = method, Options = terms is null ? null : new JsonObject { ["terms"] = terms } },
                };

            // T1 serves every table, T2 only Table 2; their ids enter the students' specs.
            foreach (var (tag, model, label) in Teachers)
            {
                bool needed = tag == "T1" ? wanted.Overlaps(Tables) : wanted.Contains("table2");
                if (!needed) continue;
                var key = Ensure(TeacherKey(model), Teacher(model), null);
                if (wanted.Contains("table2")) runs[key].Cells.Add(new("table2", $"{tag}: {label}", target));
                if (tag == "T1" && wanted.Contains("table4")) runs[key].Cells.Add(new("table4", "Teacher: DeepLabV3+", target));
            }

            foreach (var (label, model) in Students(zoo))
            {
                if (wanted.Contains("table2"))
                {
                    Add($"student/{model}/{target}", Student(model), null, new("table2", $"{label} w/o", target));
                    foreach (var (tag, teacherModel, _) in Teachers)
                        Add($"distill/{model}/{teacherModel}/lm+kmm+aam/{target}",
                            Distilled(model, TeacherKey(teacherModel), "affinity-kd", null, $"{model} w/ {tag} ({teacherModel}), target {target}"),
                            TeacherKey(teacherModel), new("table2", $"{label} w/ {tag}", target));
                }
            }

            const string t1 = "deeplabv3plus";
            if (wanted.Contains("table3"))
            {
                Add($"distill/enet/{t1}/lm+kmm+aam/{target}", Distilled("enet", TeacherKey(t1), "affinity-kd", null, $"enet w/ T1 ({t1}), target {target}"),
                    TeacherKey(t1), new("table3", "Student: ENet (ours)", target));
                Add($"distill/enet/{t1}/emkd/{target}", Distilled("enet", TeacherKey(t1), "emkd", null, $"enet w/ EMKD from T1 ({t1}), target {target}"),
                    TeacherKey(t1), new("table3", "EMKD", target));
                Add($"distill/enet/{t1}/mskd/{target}", Distilled("enet", TeacherKey(t1), "mskd", null, $"enet w/ MSKD (reconstructed) from T1 ({t1}), target {target}"),
                    TeacherKey(t1), new("table3", "MSKD", target));
                // No cell of its own: the baseline of Table 3's p-values (Table 2's "ENet w/o"), needed when Table 3 is planned alone.
                Ensure($"student/enet/{target}", Student("enet"), null);
            }
            if (wanted.Contains("table4"))
            {
                Add($"student/enet/{target}", Student("enet"), null, new("table4", "Student: ENet", target));
                foreach (var (row, terms) in Ablation)
                {
                    // The full set keeps the default options (no "terms" entry), so it is the very run of Tables 2 and 3.
                    var options = terms == "lm+kmm+aam" ? null : terms;
                    Add($"distill/enet/{t1}/{terms}/{target}", Distilled("enet", TeacherKey(t1), "affinity-kd", options, $"enet w/ T1 ({t1}) {terms}, target {target}"),
                        TeacherKey(t1), new("table4", row, target));
                }
            }
        }

        // Teachers first: every student names a teacher's id, and the graph trains them before anything else.
        return order.OrderBy(k => k.StartsWith("teacher/", StringComparison.Ordinal) ? 0 : 1)
            .Select(k => new PlannedRun(k, runs[k].Spec, runs[k].Spec.Id(), runs[k].Teacher, runs[k].Cells))
            .ToList();
    }

    private static RunSpec Base(ExperimentProfile p, string recipeHash, string target, string model, double width, string label) => new()
    {
        Label = label,
        Model = new ModelSpec { Name = model, Width = width },
        Data = new DataSpec
        {
            Dataset = p.Dataset, Cache = p.Cache == p.Dataset ? null : p.Cache, EmptySliceFraction = p.EmptySliceFraction,
            Split = new SplitSpec { Target = target, ValidationFraction = p.ValidationFraction }, RecipeHash = recipeHash,
        },
        Schedule = p.Schedule,
        Seed = p.Seed,
    };

    internal static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
