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
        foreach (var tag in new[] { "synapse", "flare" })
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
        foreach (var r in plan)
        {
            bool synapse = r.Key.EndsWith("/synapse", StringComparison.Ordinal);
            Assert.That(r.Spec.Data.Split.Protocol, Is.EqualTo("lists"));
            Assert.That(r.Spec.Model.Classes, Is.EqualTo(synapse ? 9 : 14), r.Key);
            Assert.That(r.Spec.Data.Dataset, Is.EqualTo(synapse ? "phantom-abdomen" : "phantom-flare"), r.Key);
            Assert.That(r.Spec.Data.RecipeHash, Is.EqualTo(synapse ? "hash-synapse" : "hash-flare"));
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
    public void AnAblationAlone_PlansItsFourRuns_AndAnUnknownTableIsNamed()
    {
        Assert.That(Plan(["flare-ablation"]), Has.Count.EqualTo(4));
        Assert.That(() => Plan(["table2"]), Throws.ArgumentException.With.Message.Contains("'table2' is not a table of acw-skd"));
    }

    [Test]
    public void Seeds_RepeatThePlainStudentAndAcwSkd_OnBothDataSets_ChangingOnlyTheSeed()
    {
        var paper = new AcwSkdPaper();
        var one = paper.Plan(new PlanRequest(AcwSkdExperiment.PhantomProfile, ModelRegistry.Names));
        var three = paper.Plan(new PlanRequest(AcwSkdExperiment.PhantomProfile, ModelRegistry.Names) { Seeds = 3 });
        var extra = three.Skip(one.Count).ToList();
        Assert.That(three.Take(one.Count).Select(r => r.Id), Is.EqualTo(one.Select(r => r.Id)), "the tables' runs are unchanged");
        Assert.That(extra, Has.Count.EqualTo(8), "2 rows × 2 data sets × 2 extra seeds");
        foreach (var r in extra)
        {
            var original = one.Single(o => r.Key.StartsWith(o.Key + "@seed", StringComparison.Ordinal));
            Assert.That(r.Spec with { Seed = original.Spec.Seed, Label = original.Spec.Label }, Is.EqualTo(original.Spec));
            Assert.That(r.Spec.Seed, Is.InRange(1, 2));
        }
    }
}
