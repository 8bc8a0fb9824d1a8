using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Tests;

/// <summary>GKD's plan: one training per model and method on the source domain, its cells across the four tables of each task.</summary>
public class GkdPlanTests
{
    private static IReadOnlyList<PlannedRun> Plan(IEnumerable<string>? tables = null) =>
        GkdExperiment.Plan(GkdExperiment.PhantomProfile, t => "hash-" + t.Tag, tables);

    [Test]
    public void EachTask_HasTeacherStudentFiveBaselinesGkdFourAblationsAndTwoOtherStudentsTwice()
    {
        var plan = Plan();
        Assert.That(plan, Has.Count.EqualTo(32), "16 runs per task");
        Assert.That(plan.Select(r => r.Id).Distinct().Count(), Is.EqualTo(plan.Count));
        foreach (var task in new[] { "vessels", "liver" })
        {
            var main = plan.SelectMany(r => r.Cells.Where(c => c.Table == task).Select(c => c.Row)).ToList();
            Assert.That(main, Is.EquivalentTo(new[] { GkdExperiment.TeacherRow, GkdExperiment.StudentRow, "KD", "AT", "FSP", "SKD", "IFVD", GkdExperiment.OursRow }));
            var full = plan.Single(r => r.Cells.Any(c => c.Table == task && c.Row == GkdExperiment.OursRow));
            Assert.That(full.Cells.Select(c => (c.Table, c.Row)), Does.Contain((task + "-ablation", "w/ Intra+Inter+Cross")));
            Assert.That(full.Spec.Method.Options, Is.Null, "the full method keeps the default options");
            Assert.That(plan.Count(r => r.Cells.Any(c => c.Table == task + "-ablation")), Is.EqualTo(6), "student + five rows");
            Assert.That(plan.Count(r => r.Cells.Any(c => c.Table == task + "-students")), Is.EqualTo(6));
            Assert.That(plan.Count(r => r.Cells.Any(c => c.Table == task + "-fsd")), Is.EqualTo(16), "every run of the task has its FSD");
        }
    }

    [Test]
    public void EveryRunTrainsOnTheSourceDomain_AndDistillsFromItsTasksUNet()
    {
        var plan = Plan();
        Assert.That(plan.First().IsTeacher, Is.True);
        foreach (var r in plan)
        {
            bool vessels = r.Key.EndsWith("/vessels", StringComparison.Ordinal);
            Assert.That(r.Spec.Data.Split.Protocol, Is.EqualTo(RunSplits.Source));
            Assert.That(r.Spec.Data.Split.Target, Is.EqualTo(vessels ? "CHASE_DB1" : "CHAOS"), r.Key);
            Assert.That(r.Spec.Data.Cache, Is.EqualTo(vessels ? "phantom-fundus-96" : "phantom-liver-64"), r.Key);
            Assert.That(r.Spec.Model.Classes, Is.EqualTo(2));
            if (r.Spec.Kind != RunSpec.DistillKind) continue;
            var teacher = plan.Single(t => t.Key == r.TeacherKey);
            Assert.That((teacher.Spec.Model.Name, teacher.Spec.Data.Dataset, r.Spec.Teacher), Is.EqualTo((GkdExperiment.Teacher, r.Spec.Data.Dataset, teacher.Id)));
        }
        Assert.That(plan.Where(r => r.Spec.Method.Name == "gkd").Select(r => r.Spec.Method.Options?["terms"]?.GetValue<string>()).Distinct(),
            Is.EquivalentTo(new string?[] { null, "intra", "inter", "cross", "intra+inter" }));
    }

    [Test]
    public void ATableAlone_PlansOnlyItsRuns_AndAnUnknownTableIsNamed()
    {
        Assert.That(Plan(["liver-students"]), Has.Count.EqualTo(7), "teacher, MobileNetV2-UNet w/o and w/ GKD, ENet and ERFNet w/o and w/");
        Assert.That(() => Plan(["table2"]), Throws.ArgumentException.With.Message.Contains("'table2' is not a table of gkd"));
    }

    [Test]
    public void ThePaperIsRegistered_WithPhantomDataCommands()
    {
        var paper = PaperRegistry.Get("gkd");
        Assert.That(paper.RunTables, Does.Contain("vessels-fsd").And.Contain("liver-ablation"));
        Assert.That(paper.DataCommands(GkdExperiment.PhantomProfile).Select(c => string.Join(' ', c)),
            Is.EqualTo(new[] { "data phantom fundus --scale 0.1", "data phantom liver" }));
    }
}
