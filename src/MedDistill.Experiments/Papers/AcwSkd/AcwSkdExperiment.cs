using System.Text.Json.Nodes;
using MedDistill.Data.Volumes;
using MedDistill.Distillation;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>One data set of the paper: its tables' tag, the data set and cache a profile reads, and its class names.</summary>
public sealed record AcwSkdDataset(string Tag, string Title, string Dataset, string Cache, int CacheSize, IReadOnlyList<string> ClassNames)
{
    public int Classes => ClassNames.Count + 1;

    /// <summary>Input channels of the networks and of <c>data.channels</c>: 1 for CT slices, 3 for colour frames.</summary>
    public int InChannels { get; init; } = 1;

    /// <summary>This data set's own schedule where the profile's does not fit it; null uses the profile's.</summary>
    public ScheduleSpec? Schedule { get; init; }

    /// <summary>Whether its tables carry <see cref="AcwSkdExperiment.MeanIou"/> (scene segmentation reports it).</summary>
    public bool ReportsMeanIou { get; init; }
}

/// <summary>
/// The ACW-SKD paper (Yu et al., Sci Rep 2025; abstract only) as runs. Per data set, a main table — the U-Net reference,
/// the plain student, offline KD from the U-Net (KD, AT, SKD, CWD), self-KD (BYOT) and ACW-SKD — and an ablation
/// (auxiliary head; + class-wise KD; + FRM; + adversarial temperature). Every choice the abstract leaves open is an
/// option of the method (docs/distillation.md) and listed in the notes. Methods the harness does not have are rows
/// marked n/r; the published numbers are not available here, so the published tables are empty.
/// </summary>
public static class AcwSkdExperiment
{
    public const string Paper = "acw-skd";
    public const string Student = "resnet18-unet";
    public const string Reference = "unet";

    /// <summary>Synapse's 8 organs in TransUNet's label order; FLARE22's 13 in its own.</summary>
    public static readonly string[] SynapseClasses = ["aorta", "gallbladder", "kidney_l", "kidney_r", "liver", "pancreas", "spleen", "stomach"];
    public static readonly string[] FlareClasses =
        ["liver", "kidney_r", "spleen", "pancreas", "aorta", "ivc", "adrenal_r", "adrenal_l", "gallbladder", "esophagus", "stomach", "duodenum", "kidney_l"];

    /// <summary>
    /// M2caiSeg's classes after index 0 ("unknown", the mask's unlabelled remainder, which takes the background's place),
    /// in the authors' order, "black" (outside the scope's circle) included as the data set counts it.
    /// </summary>
    public static readonly string[] M2caiSegClasses =
        ColourPalette.M2caiSeg.Classes.Where(c => c.Index > 0).OrderBy(c => c.Index).Select(c => c.Name).ToArray();

    /// <summary>Real M2caiSeg frames are cached at 256×256 (the recipe's size); the phantom at the profile's.</summary>
    public const int M2caiSegSize = 256;

    /// <summary>
    /// M2caiSeg's schedule per profile where it differs from the profile's: the phantom's 24 training frames at 64×64
    /// need fewer steps than the CT phantoms' slices. 800 steps with validation every 50 (16 validations): in probes at
    /// 1600 and 800 steps the U-Net, the student and ACW-SKD levelled off by step 300–500, while the first schedule's 400
    /// steps with 4 validations left the U-Net and AT still rising (docs/acw-skd.md, "M2caiSeg's schedule").
    /// </summary>
    public static readonly IReadOnlyDictionary<string, ScheduleSpec> M2caiSegSchedules = new Dictionary<string, ScheduleSpec>
    {
        ["phantom"] = new() { Iterations = 800, BatchSize = 8, LearningRate = 0.003, LrSchedule = "cosine", ValidateEvery = 50 },
    };

    public const string MeanDice = "mean_dice";
    public const string MeanIou = "miou";
    public const string MeanHd95 = "mean_hd95";

    /// <summary>Main-table rows: label → (key stem, method, offline teacher?). The student's own rows come first.</summary>
    public static readonly (string Row, string Method, bool FromTeacher)[] MainRows =
    [
        ("U-Net (reference)", "reference", false),
        ("ResNet18-UNet (student)", "none", false),
        ("KD", "kd", true), ("AT", "at", true), ("SKD", "skd", true), ("CWD", "cwd", true),
        ("BYOT (self-KD)", "byot", false),
        ("ACW-SKD (ours)", "acw-skd", false),
    ];

    /// <summary>Ablation rows: label → ACW-SKD terms (the last is the full method, the main table's run).</summary>
    public static readonly (string Row, string Terms)[] Ablation =
    [
        ("aux head", "aux"), ("+ class-wise KD", "aux+cw"), ("+ FRM", "aux+cw+frm"), ("+ adversarial temperature", "aux+cw+frm+at"),
    ];

    public const string FullTerms = "aux+cw+frm+at";

    /// <summary>The data sets of a profile (its <see cref="ExperimentProfile.Targets"/> name them by tag).</summary>
    public static IReadOnlyList<AcwSkdDataset> Datasets(ExperimentProfile p)
    {
        bool phantom = p.Dataset.StartsWith("phantom-", StringComparison.Ordinal);
        var all = new[]
        {
            new AcwSkdDataset("synapse", "Synapse (8 organs)", phantom ? "phantom-abdomen" : "synapse", phantom ? $"phantom-abdomen-{p.CacheSize}" : "synapse", p.CacheSize, SynapseClasses),
            new AcwSkdDataset("flare", "FLARE22 (13 organs)", phantom ? "phantom-flare" : "flare22", phantom ? $"phantom-flare-{p.CacheSize}" : "flare22", p.CacheSize, FlareClasses),
            new AcwSkdDataset("m2caiseg", "M2caiSeg (laparoscopy, 18 classes + unknown)", phantom ? "phantom-laparoscopy" : "m2caiseg",
                phantom ? $"phantom-laparoscopy-{p.CacheSize}" : "m2caiseg", phantom ? p.CacheSize : M2caiSegSize, M2caiSegClasses)
            {
                InChannels = 3, ReportsMeanIou = true, Schedule = M2caiSegSchedules.GetValueOrDefault(p.Name),
            },
        };
        return all.Where(d => p.Targets.Contains(d.Tag)).ToList();
    }

    public static IReadOnlyList<string> TablesOf(IEnumerable<AcwSkdDataset> datasets) => datasets.SelectMany(d => new[] { d.Tag, d.Tag + "-ablation" }).ToList();

    public static readonly ExperimentProfile PhantomProfile = new()
    {
        Name = "phantom",
        Description = "the built-in Synapse-like and FLARE22-like CT phantoms and the M2caiSeg-like laparoscopy phantom at 64×64, U-Net reference at width 0.25, ResNet18-UNet student at 0.25, batch 8, Adam 0.003 with cosine decay, 1500 steps (M2caiSeg: 800), validation every 150 (M2caiSeg: 50); on 2 CPU cores",
        Dataset = "phantom-abdomen", Cache = "phantom-abdomen-64", CacheSize = 64, Targets = ["synapse", "flare", "m2caiseg"],
        TeacherWidth = 0.25, StudentWidth = 0.25,
        Schedule = new ScheduleSpec { Iterations = 1500, BatchSize = 8, LearningRate = 0.003, LrSchedule = "cosine", ValidateEvery = 150 },
        EmptySliceFraction = 1.0, ThreadsPerRun = 1,
    };

    public static readonly ExperimentProfile SmokeProfile = PhantomProfile with
    {
        Name = "smoke",
        Description = "a smoke test of the graph, not a reproduction: the phantoms at 64×64, 3 steps per run; its numbers mean nothing",
        Schedule = new ScheduleSpec { Iterations = 3, BatchSize = 4, LearningRate = 0.003, LrSchedule = "cosine" },
    };

    public static readonly ExperimentProfile PaperProfile = new()
    {
        Name = "paper",
        Description = "the setting the same lab's pipeline uses (inferred, the paper's text is not available): real Synapse and FLARE22 at 224×224 and M2caiSeg at 256×256, full-width networks, SGD 0.01 momentum 0.9 weight decay 5e-4, poly, 40k steps; meant for a GPU",
        Dataset = "synapse", Cache = "synapse", CacheSize = 224, Targets = ["synapse", "flare", "m2caiseg"],
        Schedule = new ScheduleSpec { Iterations = 40000, BatchSize = 8, Optimizer = "sgd", LearningRate = 0.01, Momentum = 0.9, WeightDecay = 5e-4, LrSchedule = "poly" },
    };

    public static IReadOnlyList<ExperimentProfile> Profiles { get; } = [PhantomProfile, SmokeProfile, PaperProfile];

    /// <summary>The runs of the requested tables; cells name (table, row, column = the data set's tag).</summary>
    public static IReadOnlyList<PlannedRun> Plan(ExperimentProfile profile, Func<AcwSkdDataset, string> recipeHash, IReadOnlyCollection<string> zoo,
        IEnumerable<string>? tables = null)
    {
        var datasets = Datasets(profile);
        var known = TablesOf(datasets);
        var wanted = (tables ?? known).ToHashSet(StringComparer.Ordinal);
        foreach (var t in wanted)
            if (!known.Contains(t)) throw new ArgumentException($"table '{t}' is not a table of {Paper} in profile {profile.Name}; tables: {string.Join(", ", known)}");
        var runs = new Dictionary<string, (RunSpec Spec, string? Teacher, List<TableCell> Cells)>(StringComparer.Ordinal);
        var order = new List<string>();
        void Add(string key, RunSpec spec, string? teacher, TableCell? cell)
        {
            if (!runs.ContainsKey(key)) { runs[key] = (spec, teacher, []); order.Add(key); }
            if (cell is not null) runs[key].Cells.Add(cell);
        }

        foreach (var d in datasets)
        {
            bool main = wanted.Contains(d.Tag), ablation = wanted.Contains(d.Tag + "-ablation");
            if (!main && !ablation) continue;
            var hash = recipeHash(d);
            RunSpec Base(string model, double width, string label) => new()
            {
                Label = label,
                Model = new ModelSpec { Name = model, Width = width, Classes = d.Classes, InChannels = d.InChannels },
                Data = new DataSpec
                {
                    Dataset = d.Dataset, Cache = d.Cache == d.Dataset ? null : d.Cache, EmptySliceFraction = profile.EmptySliceFraction, Channels = d.InChannels,
                    Split = new SplitSpec { Protocol = "lists", Target = "test", ValidationFraction = profile.ValidationFraction }, RecipeHash = hash,
                },
                Schedule = d.Schedule ?? profile.Schedule,
                Seed = profile.Seed,
            };
            RunSpec Self(string method, string? terms, string label) => Base(Student, profile.StudentWidth, label) with
            {
                Method = new MethodSpec { Name = method, Options = terms is null ? null : new JsonObject { ["terms"] = terms } },
            };
            string teacherKey = $"teacher/{Reference}/{d.Tag}";
            var teacher = Base(Reference, profile.TeacherWidth, $"{Reference} reference and teacher, {d.Tag}");
            if (main) Add(teacherKey, teacher, null, new(d.Tag, MainRows[0].Row, d.Tag));
            if (main)
            {
                Add($"student/{Student}/{d.Tag}", Base(Student, profile.StudentWidth, $"{Student} w/o KD, {d.Tag}"), null, new(d.Tag, MainRows[1].Row, d.Tag));
                foreach (var (row, method, fromTeacher) in MainRows.Skip(2))
                {
                    if (!DistillationMethods.Names.Contains(method)) continue;  // not implemented: the row stays n/r
                    if (fromTeacher)
                    {
                        Add(teacherKey, teacher, null, null);
                        var spec = Base(Student, profile.StudentWidth, $"{Student} w/ {method} from {Reference}, {d.Tag}") with
                        {
                            Kind = RunSpec.DistillKind, Teacher = runs[teacherKey].Spec.Id(), Method = new MethodSpec { Name = method },
                        };
                        Add($"distill/{method}/{d.Tag}", spec, teacherKey, new(d.Tag, row, d.Tag));
                    }
                    else
                    {
                        // The full method keeps the default options (no "terms"), so it is also the ablation's last row.
                        Add($"self/{method}/{(method == "acw-skd" ? FullTerms : "default")}/{d.Tag}", Self(method, null, $"{Student} w/ {method}, {d.Tag}"), null, new(d.Tag, row, d.Tag));
                    }
                }
            }
            if (ablation && DistillationMethods.Names.Contains("acw-skd"))
                foreach (var (row, terms) in Ablation)
                    Add($"self/acw-skd/{terms}/{d.Tag}", Self("acw-skd", terms == FullTerms ? null : terms, $"{Student} w/ acw-skd {terms}, {d.Tag}"), null,
                        new(d.Tag + "-ablation", row, d.Tag));
        }
        return order.OrderBy(k => k.StartsWith("teacher/", StringComparison.Ordinal) ? 0 : 1)
            .Select(k => new PlannedRun(k, runs[k].Spec, runs[k].Spec.Id(), runs[k].Teacher, runs[k].Cells))
            .ToList();
    }
}
