using System.Text.Json.Nodes;
using MedDistill.Distillation.Gkd;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>GKD in run specs: its options bind from JSON, its term names follow them, and a distil run feeds it the batch.</summary>
public class GkdSpecTests
{
    private static MethodSpec Method(string? json) =>
        new() { Name = "gkd", Options = json is null ? null : JsonNode.Parse(json)!.AsObject() };

    [Test]
    public void OptionsBindFromJson()
    {
        var gkd = Objective.BindMethodOptions(Method("""{"terms": "inter+intra", "views": 3, "tau": 0.2, "crossTarget": "hard", "semanticDim": 16, "actAlign": 0.5}""")).Gkd;
        Assert.That((gkd.Terms, gkd.Views, gkd.Tau, gkd.CrossTarget, gkd.SemanticDim, gkd.ActAlign),
            Is.EqualTo((GkdTerms.Intra | GkdTerms.Inter, 3, 0.2, CrossTarget.Hard, 16, 0.5)));
        Assert.That(Objective.BindMethodOptions(Method(null)).Gkd, Is.EqualTo(new GkdOptions()));
    }

    [TestCase("""{"terms": "intra+act"}""")]
    [TestCase("""{"terms": 3}""")]
    [TestCase("""{"views": 0}""")]
    [TestCase("""{"temperature": 2}""")]
    public void BadOptionsAreErrors(string json) =>
        Assert.That(() => Objective.BindMethodOptions(Method(json)), Throws.ArgumentException.With.Message.StartWith("method.options"));

    [Test]
    public void ObjectiveTermNamesFollowTheOptions()
    {
        using var student = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        using var teacher = ModelRegistry.Create("unet", new ModelOptions(1, 2, 0.125));
        RunSpec Spec(string? json) => ExperimentFixture.Tiny() with { Method = Method(json) };
        using (var all = Objective.Create(Spec(null), student, teacher))
            Assert.That(all.TermNames, Is.EqualTo(new[] { "dice", "focal", "intra", "inter", "cross", "act" }));
        using (var cross = Objective.Create(Spec("""{"terms": "cross"}"""), student, teacher))
            Assert.That(cross.TermNames, Is.EqualTo(new[] { "dice", "focal", "cross", "act" }));
        Assert.That(() => Objective.Create(Spec(null), student, null), Throws.ArgumentException.With.Message.Contain("needs a teacher"));
    }

    [Test]
    public void ADistilRunHandsTheBatchToGkd()
    {
        var options = new TrainerOptions { Workers = 0 };
        var store = ExperimentFixture.NewStore();
        var teacherSpec = ExperimentFixture.Tiny("unet", 0.125) with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var teacher = new Trainer(PreparedRun.Prepare(teacherSpec, store, ExperimentFixture.DataDir), options).Train();
        var spec = SpecOverrides.Apply(ExperimentFixture.Tiny() with { Schedule = ExperimentFixture.Tiny().Schedule with { Iterations = 2 } },
            ["kind=distill", $"teacher={teacher.RunId}", "method.name=gkd", "method.options.views=1"]);
        var run = PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir);
        // Without the trainer's SetInput, Compute would throw at the first step.
        var result = new Trainer(run, options).Train();
        Assert.That(result.Outcome, Is.EqualTo(TrainOutcome.Finished));
        var lines = File.ReadAllLines(run.Folder.StepLogPath);
        Assert.That(lines[0], Is.EqualTo("step,epoch,lr,total,dice,focal,intra,inter,cross,act"));
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[1].Split(',').Skip(3).Select(double.Parse).All(double.IsFinite));
    }
}
