using System.Text.Json.Nodes;
using MedDistill.Distillation;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// One task of the paper: its tables' tag, the data set and cache a profile reads, the source domain every model trains on
/// and the domains it is tested on (the source's own held-out cases first).
/// </summary>
public sealed record GkdTask(string Tag, string Title, string Dataset, string Cache, int CacheSize, string Source, IReadOnlyList<string> Domains)
{
    public IEnumerable<string> Targets => Domains.Where(d => d != Source);
}

/// <summary>
/// The GKD paper (Qi et al., "Exploring Generalizable Distillation for Efficient Medical Image Segmentation"; abstract and
/// partial network code only) as runs. Per task — retinal vessels (train on CHASE_DB1; test on CHASE_DB1, STARE, DRIVE)
/// and liver (train on CHAOS CT; test on CHAOS, LiTS) — a main table (U-Net teacher, MobileNetV2-UNet student, the
/// baselines KD, AT, FSP, SKD, IFVD, the unimplemented CoCo, XDED, CCDistill, DiGA as n/r, and GKD), the ablation of the
/// authors' figure (w/ Intra, w/ Inter, w/ Cross, w/ Intra+Inter, w/ Intra+Inter+Cross), the other students (ENet,
/// ERFNet) without and with GKD, and the Fréchet semantic distance of every run between the source and each target domain.
/// </summary>
public static class GkdExperiment
{
    public const string Paper = "gkd";
    public const string Teacher = "unet";
    public const string Student = "mobilenetv2-unet";
    public const string Method = "gkd";

    public const string TeacherRow = "U-Net (teacher)";
    public const string StudentRow = "MobileNetV2-UNet (student)";
    public const string OursRow = "GKD (ours)";

    /// <summary>Main-table rows after teacher and student: label → method (null: not implemented here, n/r).</summary>
    public static readonly (string Row, string? Method)[] MainRows =
    [
        ("KD", "kd"), ("AT", "at"), ("FSP", "fsp"), ("SKD", "skd"), ("IFVD", "ifvd"),
        ("CoCo", null), ("XDED", null), ("CCDistill", null), ("DiGA", null),
        (OursRow, Method),
    ];

    /// <summary>The authors' ablation figure: row → GKD terms; the last is the full method (the main table's run).</summary>
    public static readonly (string Row, string Terms)[] Ablation =
    [
        ("w/ Intra", "intra"), ("w/ Inter", "inter"), ("w/ Cross", "cross"), ("w/ Intra+Inter", "intra+inter"), ("w/ Intra+Inter+Cross", FullTerms),
    ];

    public const string FullTerms = "intra+inter+cross";

    /// <summary>The other lightweight students of the authors' code, each without and with GKD.</summary>
    public static readonly (string Model, string Title)[] OtherStudents = [("enet", "ENet"), ("erfnet", "ERFNet")];

    public static IReadOnlyList<GkdTask> Tasks(ExperimentProfile p)
    {
        bool phantom = p.Dataset.StartsWith("phantom-", StringComparison.Ordinal);
        int liverSize = phantom ? LiverPhantomSize : p.CacheSize;
        var all = new[]
        {
            new GkdTask("vessels", "retinal vessels (CHASE_DB1 → STARE, DRIVE)", phantom ? "phantom-fundus" : "retinal-vessels",
                phantom ? $"phantom-fundus-{p.CacheSize}" : "retinal-vessels", p.CacheSize, "CHASE_DB1", ["CHASE_DB1", "STARE", "DRIVE"]),
            new GkdTask("liver", "liver CT (CHAOS → LiTS)", phantom ? "phantom-liver" : "liver",
                phantom ? $"phantom-liver-{liverSize}" : "liver", liverSize, "CHAOS", ["CHAOS", "LiTS"]),
        };
        return all.Where(t => p.Targets.Contains(t.Tag)).ToList();
    }

    /// <summary>The liver phantom's matrix: its volumes are written at 64 × 64, so the cache keeps that size.</summary>
    public const int LiverPhantomSize = 64;

    /// <summary>The fundus phantom's scale of the real image sizes (CHASE_DB1 999×960 → about 100 pixels a side).</summary>
    public const double FundusPhantomScale = 0.1;

    public static IReadOnlyList<string> TablesOf(IEnumerable<GkdTask> tasks) =>
        tasks.SelectMany(t => new[] { t.Tag, t.Tag + "-ablation", t.Tag + "-students", t.Tag + "-fsd" }).ToList();

    public static readonly ExperimentProfile PhantomProfile = new()
    {
        Name = "phantom",
        Description = "the built-in fundus phantom (CHASE_DB1-, STARE- and DRIVE-like domains, green channel at 96×96) and liver phantom (CHAOS-like DICOM, LiTS-like NIfTI, 64×64); U-Net teacher at width 0.25, students at 0.25; batch 8, Adam 0.003 with cosine decay, 400 steps, validation every 50; on 2 CPU cores",
        Dataset = "phantom-fundus", Cache = "phantom-fundus-96", CacheSize = 96, Targets = ["vessels", "liver"],
        TeacherWidth = 0.25, StudentWidth = 0.25,
        Schedule = new ScheduleSpec { Iterations = 400, BatchSize = 8, LearningRate = 0.003, LrSchedule = "cosine", ValidateEvery = 50 },
        EmptySliceFraction = 1.0, ThreadsPerRun = 1,
    };

    public static readonly ExperimentProfile SmokeProfile = PhantomProfile with
    {
        Name = "smoke",
        Description = "a smoke test of the graph, not a reproduction: the phantoms, 3 steps per run; its numbers mean nothing",
        Schedule = new ScheduleSpec { Iterations = 3, BatchSize = 4, LearningRate = 0.003, LrSchedule = "cosine" },
    };

    public static readonly ExperimentProfile PaperProfile = new()
    {
        Name = "paper",
        Description = "real CHASE_DB1/STARE/DRIVE and CHAOS/LiTS at 256×256 (the authors' student code comments a 256×256 output), full-width networks, Adam 0.003 with the step decay of the authors' test script as cosine (a named difference), 250 epochs, batch 32; meant for a GPU",
        Dataset = "retinal-vessels", Cache = "retinal-vessels", CacheSize = 256, Targets = ["vessels", "liver"],
        Schedule = new ScheduleSpec { Epochs = 250, BatchSize = 32, LearningRate = 0.003, LrSchedule = "cosine" },
    };

    public static IReadOnlyList<ExperimentProfile> Profiles { get; } = [PhantomProfile, SmokeProfile, PaperProfile];

    /// <summary>The runs of the requested tables; a run's cells name (table, row, column = the task's tag).</summary>
    public static IReadOnlyList<PlannedRun> Plan(ExperimentProfile profile, Func<GkdTask, string> recipeHash, IEnumerable<string>? tables = null)
    {
        var tasks = Tasks(profile);
        var known = TablesOf(tasks);
        var wanted = (tables ?? known).ToHashSet(StringComparer.Ordinal);
        foreach (var t in wanted)
            if (!known.Contains(t)) throw new ArgumentException($"table '{t}' is not a table of {Paper} in profile {profile.Name}; tables: {string.Join(", ", known)}");
        var runs = new Dictionary<string, (RunSpec Spec, string? Teacher, List<TableCell> Cells)>(StringComparer.Ordinal);
        var order = new List<string>();
        void Add(string key, RunSpec spec, string? teacher, params TableCell[] cells)
        {
            if (!runs.ContainsKey(key)) { runs[key] = (spec, teacher, []); order.Add(key); }
            runs[key].Cells.AddRange(cells);
        }

        foreach (var task in tasks)
        {
            string main = task.Tag, ablation = task.Tag + "-ablation", students = task.Tag + "-students", fsd = task.Tag + "-fsd";
            if (!new[] { main, ablation, students, fsd }.Any(wanted.Contains)) continue;
            var hash = recipeHash(task);
            RunSpec Base(string model, double width, string label) => new()
            {
                Label = label,
                Model = new ModelSpec { Name = model, Width = width, Classes = 2 },
                Data = new DataSpec
                {
                    Dataset = task.Dataset, Cache = task.Cache == task.Dataset ? null : task.Cache, EmptySliceFraction = profile.EmptySliceFraction,
                    Split = new SplitSpec { Protocol = RunSplits.Source, Target = task.Source, ValidationFraction = profile.ValidationFraction }, RecipeHash = hash,
                },
                Schedule = profile.Schedule,
                Seed = profile.Seed,
            };
            TableCell[] Cells(params (string Table, string Row)[] cells) =>
                cells.Where(c => wanted.Contains(c.Table)).Select(c => new TableCell(c.Table, c.Row, task.Tag))
                    .Concat(wanted.Contains(fsd) ? [new TableCell(fsd, cells[0].Row, task.Tag)] : []).ToArray();

            string teacherKey = $"teacher/{Teacher}/{task.Tag}";
            var teacherSpec = Base(Teacher, profile.TeacherWidth, $"{Teacher} teacher, {task.Tag}");
            Add(teacherKey, teacherSpec, null, Cells((main, TeacherRow)));
            RunSpec Distil(string model, string method, string? terms, string label) => Base(model, profile.StudentWidth, label) with
            {
                Kind = RunSpec.DistillKind, Teacher = teacherSpec.Id(),
                Method = new MethodSpec { Name = method, Options = terms is null ? null : new JsonObject { ["terms"] = terms } },
            };

            Add($"student/{Student}/{task.Tag}", Base(Student, profile.StudentWidth, $"{Student} w/o KD, {task.Tag}"), null,
                Cells((main, StudentRow), (ablation, StudentRow), (students, StudentRow)));
            foreach (var (row, method) in MainRows)
            {
                if (method is null || !DistillationMethods.Names.Contains(method)) continue;  // the row stays n/r
                if (method != Method && !wanted.Contains(main) && !wanted.Contains(fsd)) continue;  // a baseline fills only those two
                if (method == Method)
                    Add($"distill/{Method}/{FullTerms}/{Student}/{task.Tag}", Distil(Student, Method, null, $"{Student} w/ GKD from {Teacher}, {task.Tag}"), teacherKey,
                        Cells((main, OursRow), (ablation, Ablation[^1].Row), (students, $"{StudentRow[..StudentRow.IndexOf(" (", StringComparison.Ordinal)]} w/ GKD")));
                else
                    Add($"distill/{method}/{task.Tag}", Distil(Student, method, null, $"{Student} w/ {method} from {Teacher}, {task.Tag}") with
                    {
                        Method = new MethodSpec { Name = method, Options = BaselineOptions(method) },
                    }, teacherKey, Cells((main, row)));
            }
            if (DistillationMethods.Names.Contains(Method))
            {
                if (wanted.Contains(ablation) || wanted.Contains(fsd))
                    foreach (var (row, terms) in Ablation.SkipLast(1))
                        Add($"distill/{Method}/{terms}/{Student}/{task.Tag}", Distil(Student, Method, terms, $"{Student} w/ GKD {terms} from {Teacher}, {task.Tag}"), teacherKey,
                            Cells((ablation, row)));
                if (wanted.Contains(students) || wanted.Contains(fsd))
                    foreach (var (model, title) in OtherStudents)
                    {
                        Add($"student/{model}/{task.Tag}", Base(model, profile.StudentWidth, $"{model} w/o KD, {task.Tag}"), null, Cells((students, $"{title} (student)")));
                        Add($"distill/{Method}/{FullTerms}/{model}/{task.Tag}", Distil(model, Method, null, $"{model} w/ GKD from {Teacher}, {task.Tag}"), teacherKey,
                            Cells((students, $"{title} w/ GKD")));
                    }
            }
        }
        return order.OrderBy(k => k.StartsWith("teacher/", StringComparison.Ordinal) ? 0 : 1)
            .Select(k => new PlannedRun(k, runs[k].Spec, runs[k].Spec.Id(), runs[k].Teacher, runs[k].Cells))
            .ToList();
    }

    /// <summary>
    /// A baseline's options where its defaults do not fit MobileNetV2-UNet: AT's default tap pairs name ResNet stages, so
    /// it pairs the student's stages with the U-Net's encoder levels at the same resolution (1/4, 1/8, 1/16).
    /// </summary>
    public static JsonObject? BaselineOptions(string method) => method switch
    {
        "at" => new JsonObject
        {
            ["tapPairs"] = new JsonArray(
                new JsonObject { ["student"] = "stage2", ["teacher"] = "enc3" },
                new JsonObject { ["student"] = "stage3", ["teacher"] = "enc4" },
                new JsonObject { ["student"] = "stage4", ["teacher"] = "encoder" }),
        },
        _ => null,
    };

    /// <summary>The students table's rows, in order.</summary>
    public static IReadOnlyList<string> StudentRows =>
        [StudentRow, "MobileNetV2-UNet w/ GKD", .. OtherStudents.SelectMany(s => new[] { $"{s.Title} (student)", $"{s.Title} w/ GKD" })];
}
