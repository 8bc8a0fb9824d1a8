using MedDistill.Distillation;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>ACW-SKD's plan: which runs fill which cells, and that the ablation's full row is the main table's run.</summary>
public class AcwSkdPlanTests
{
    private static IReadOnlyList<PlannedRun> Plan(IEnumerable<string>? tables = null) =>
        AcwSkdExperiment.Plan(AcwSkdExperiment.PhantomProfile, d => "hash-" + d.Tag, ModelRegistry.Names, tables);

    [Test]
    public void EveryImplementedRowHasOneRun_PerDataSet_AndTheFullAblationRowIsTheMainRun()
    {
        var plan = Plan();
        foreach (var tag in new[] { "synapse", "flare", "m2caiseg" })
        {
            var rows = plan.SelectMany(r => r.Cells.Where(c => c.Table == tag).Select(c => (c.Row, r.Key))).ToList();
            var implemented = AcwSkdExperiment.MainRows.Where(m => m.Method is "reference" or "none" || DistillationMethods.Names.Contains(m.Method)).Select(m => m.Row);
            Assert.That(rows.Select(r => r.Row), Is.EquivalentTo(implemented), tag);
            var full = plan.Single(r => r.Cells.Any(c => c.Table == tag && c.Row == "ACW-SKD (ours)"));
            Assert.That(full.Cells.Select(c => (c.Table, c.Row)), Does.Contain((tag + "-ablation", "+ adversarial temperature")));
            Assert.That(plan.Count(r => r.Cells.Any(c => c.Table == tag + "-ablation")), Is.EqualTo(4));
        }
        Assert.That(plan.Select(r => r.Id).Distinct().Count(), Is.EqualTo(plan.Count), "cells naming the same spec share one run");
    }

    [Test]
    public void RunsUseEachDataSetsListsAndClasses_SelfKdIsATrainRun_OfflineKdNamesTheUNet()
    {
        var plan = Plan();
        Assert.That(plan.First().IsTeacher, Is.True, "teachers first");
        var byTag = new Dictionary<string, (int Classes, string Dataset)>
        {
            ["synapse"] = (9, "phantom-abdomen"), ["flare"] = (14, "phantom-flare"), ["m2caiseg"] = (19, "phantom-laparoscopy"),
        };
        foreach (var r in plan)
        {
            var tag = r.Key[(r.Key.LastIndexOf('/') + 1)..];
            Assert.That(r.Spec.Data.Split.Protocol, Is.EqualTo("lists"));
            Assert.That(r.Spec.Model.Classes, Is.EqualTo(byTag[tag].Classes), r.Key);
            Assert.That(r.Spec.Data.Dataset, Is.EqualTo(byTag[tag].Dataset), r.Key);
            Assert.That(r.Spec.Data.RecipeHash, Is.EqualTo("hash-" + tag));
            if (DistillationMethods.IsSelfDistillation(r.Spec.Method.Name))
                Assert.That((r.Spec.Kind, r.Spec.Teacher, r.TeacherKey), Is.EqualTo((RunSpec.TrainKind, (string?)null, (string?)null)), r.Key);
            if (r.Spec.Kind == RunSpec.DistillKind)
            {
                var teacher = plan.Single(t => t.Key == r.TeacherKey);
                Assert.That((teacher.Spec.Model.Name, r.Spec.Teacher), Is.EqualTo((AcwSkdExperiment.Reference, teacher.Id)));
            }
        }
        Assert.That(plan.Where(r => r.Spec.Method.Name == "acw-skd").Select(r => r.Spec.Method.Options?["terms"]?.GetValue<string>()).Distinct(),
            Is.EquivalentTo(new string?[] { null, "aux", "aux+cw", "aux+cw+frm" }));
    }

    [Test]
    public void M2caiSegRuns_TakeThreeChannels_ItsOwnCheapSchedule_AndTheCtRunsAreUnchanged()
    {
        var plan = Plan();
        var m2cai = plan.Where(r => r.Key.EndsWith("/m2caiseg", StringComparison.Ordinal)).ToList();
        Assert.That(m2cai, Has.Count.EqualTo(11), "teacher, student, KD, AT, SKD, CWD, BYOT, ACW-SKD and three more ablation rows");
        Assert.That(m2cai.Select(r => r.Key), Does.Contain("teacher/unet/m2caiseg").And.Contain("student/resnet18-unet/m2caiseg")
            .And.Contain("self/acw-skd/aux+cw+frm+at/m2caiseg").And.Contain("distill/cwd/m2caiseg"));
        var schedule = AcwSkdExperiment.M2caiSegSchedules["phantom"];
        foreach (var r in m2cai)
        {
            Assert.That((r.Spec.Model.InChannels, r.Spec.Data.Channels), Is.EqualTo((3, 3)), r.Key);
            Assert.That(r.Spec.Data.Cache, Is.EqualTo("phantom-laparoscopy-64"), r.Key);
            Assert.That(r.Spec.Schedule, Is.EqualTo(schedule), r.Key);
            Assert.That(r.Spec.Model.Name, Is.EqualTo(r.IsTeacher ? AcwSkdExperiment.Reference : AcwSkdExperiment.Student), r.Key);
        }
        Assert.That(schedule.Iterations, Is.LessThan(AcwSkdExperiment.PhantomProfile.Schedule.Iterations), "fewer frames, fewer steps than the CT sets");
        Assert.That(schedule.Iterations / schedule.ValidateEvery, Is.GreaterThanOrEqualTo(8), "enough validations in each half for the plateau test");
        foreach (var r in plan.Except(m2cai))
        {
            Assert.That((r.Spec.Model.InChannels, r.Spec.Data.Channels), Is.EqualTo((1, 1)), r.Key);
            Assert.That(r.Spec.Schedule, Is.EqualTo(AcwSkdExperiment.PhantomProfile.Schedule), r.Key);
        }
        Assert.That(AcwSkdExperiment.M2caiSegClasses, Has.Length.EqualTo(18));
        Assert.That(AcwSkdExperiment.M2caiSegClasses[0], Is.EqualTo("grasper"));
        Assert.That(AcwSkdExperiment.M2caiSegClasses[^1], Is.EqualTo("black"));
    }

    [Test]
    public void TheSmokeAndPaperProfiles_PlanM2caiSeg_TheSmokeOnItsThreeSteps_ThePaperOnRealFramesAt256()
    {
        var smoke = AcwSkdExperiment.Plan(AcwSkdExperiment.SmokeProfile, d => "h", ModelRegistry.Names, ["m2caiseg", "m2caiseg-ablation"]);
        Assert.That(smoke, Has.Count.EqualTo(11));
        Assert.That(smoke.Select(r => r.Spec.Schedule), Is.All.EqualTo(AcwSkdExperiment.SmokeProfile.Schedule));
        var real = AcwSkdExperiment.Datasets(AcwSkdExperiment.PaperProfile).Single(d => d.Tag == "m2caiseg");
        Assert.That((real.Dataset, real.Cache, real.CacheSize, real.Classes, real.Schedule), Is.EqualTo(("m2caiseg", "m2caiseg", 256, 19, (ScheduleSpec?)null)));
        Assert.That(AcwSkdPaper.Recipe(real).Hash(), Is.EqualTo(Data.Preprocessing.PreprocessRecipe.M2caiSeg.Hash()), "the registered recipe, so `data preprocess m2caiseg` makes the cache");
        var phantom = AcwSkdExperiment.Datasets(AcwSkdExperiment.PhantomProfile).Single(d => d.Tag == "m2caiseg");
        Assert.That(AcwSkdPaper.Recipe(phantom).Hash(), Is.EqualTo(Data.Preprocessing.PreprocessRecipe.PhantomLaparoscopy.Hash()));
        Assert.That(new AcwSkdPaper().DataCommands(AcwSkdExperiment.PhantomProfile), Has.Some.EqualTo(new[] { "data", "phantom", "laparoscopy" }));
    }

    [Test]
    public void DatasetMeanIou_SumsEachClassOverTheFrames_ThenAveragesTheClassesThatOccur()
    {
        static MedDistill.Evaluation.CaseMetrics Row(string id, int k, long p, long r, long i) => new()
        {
            CaseId = id, Site = "test", ClassLabel = k, Dice = 2.0 * i / Math.Max(1, p + r), Hd95 = 0, Asd = 0, AssdMedPy = 0, Hd = 0,
            PredictionVoxels = p, ReferenceVoxels = r, IntersectionVoxels = i,
        };
        // Class 1: (3 + 1) / ((4 + 4 − 3) + (2 + 1 − 1)) = 4 / 7; class 2: 0 / 5; class 3 occurs nowhere and is skipped.
        var rows = new[] { Row("a", 1, 4, 4, 3), Row("b", 1, 2, 1, 1), Row("a", 2, 5, 0, 0), Row("a", 3, 0, 0, 0), Row("b", 3, 0, 0, 0) };
        Assert.That(AcwSkdTables.DatasetMeanIou(rows, 3), Is.EqualTo((4.0 / 7 + 0) / 2).Within(1e-12));
        Assert.That(AcwSkdTables.DatasetMeanIou(rows.Where(r => r.ClassLabel == 3), 3), Is.Null);
    }

    [Test]
    public void AnAblationAlone_PlansItsFourRuns_AndAnUnknownTableIsNamed()
    {
        Assert.That(Plan(["flare-ablation"]), Has.Count.EqualTo(4));
        Assert.That(() => Plan(["table2"]), Throws.ArgumentException.With.Message.Contains("'table2' is not a table of acw-skd"));
    }

    [Test]
    public void Seeds_RepeatThePlainStudentAndAcwSkd_OnEveryDataSet_ChangingOnlyTheSeed()
    {
        var paper = new AcwSkdPaper();
        var one = paper.Plan(new PlanRequest(AcwSkdExperiment.PhantomProfile, ModelRegistry.Names));
        var three = paper.Plan(new PlanRequest(AcwSkdExperiment.PhantomProfile, ModelRegistry.Names) { Seeds = 3 });
        var extra = three.Skip(one.Count).ToList();
        Assert.That(three.Take(one.Count).Select(r => r.Id), Is.EqualTo(one.Select(r => r.Id)), "the tables' runs are unchanged");
        Assert.That(extra, Has.Count.EqualTo(12), "2 rows × 3 data sets × 2 extra seeds");
        foreach (var r in extra)
        {
            var original = one.Single(o => r.Key.StartsWith(o.Key + "@seed", StringComparison.Ordinal));
            Assert.That(r.Spec with { Seed = original.Spec.Seed, Label = original.Spec.Label }, Is.EqualTo(original.Spec));
            Assert.That(r.Spec.Seed, Is.InRange(1, 2));
        }
    }
}

public class OneTableKeepsTheRunSummaryTests
{
    [Test]
    public void WritingOneTableLeavesRunsCsvToTheWholeProfile()
    {
        // runs.csv lists every run of the profile; writing one table (here with no finished runs) must not replace it
        // with that table's subset, as it once did for M2caiSeg.
        var dir = Path.Combine(Path.GetTempPath(), "md-one-table-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var runs = Path.Combine(dir, "runs.csv");
            File.WriteAllText(runs, "the whole profile's rows\n");
            var request = new TablesRequest(AcwSkdExperiment.SmokeProfile, "synapse", ExperimentFixture.NewStore(), dir, dir)
            { OutputFolder = dir, PublishedFolder = dir, Zoo = ModelRegistry.Names };
            var result = new AcwSkdPaper().WriteTables(request);
            Assert.That(result.Missing, Is.GreaterThan(0), "nothing trained: the table's cells are missing");
            Assert.That(File.Exists(Path.Combine(dir, "synapse.csv")), "the table itself is written");
            Assert.That(File.ReadAllText(runs), Is.EqualTo("the whole profile's rows\n"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
