using System.Globalization;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Self-distillation (ACW-SKD) is a train run: no teacher run, the method reads the network's own branches, its
/// modules (FRM, temperature) train and are checkpointed with the network, and the trainer tells it the step.
/// </summary>
public class SelfDistillationRunTests
{
    private static RunSpec Spec(string terms = "aux+cw+frm+at") =>
        SpecOverrides.Apply(ExperimentFixture.Tiny("resnet18-unet", 0.125) with { Schedule = ExperimentFixture.Tiny().Schedule with { Iterations = 4 } },
            ["method.name=acw-skd", $"method.options.terms={terms}"]);

    [Test]
    public void AnAcwSkdTrainRun_LogsEveryTerm_AndCheckpointsItsModules()
    {
        var store = ExperimentFixture.NewStore();
        var run = PreparedRun.Prepare(Spec(), store, ExperimentFixture.DataDir);
        var result = new Trainer(run, new TrainerOptions { Workers = 0, CheckpointEvery = 2 }).Train();

        Assert.That(result.Outcome, Is.EqualTo(TrainOutcome.Finished));
        var rows = File.ReadAllLines(run.Folder.StepLogPath);
        Assert.That(rows[0], Is.EqualTo("step,epoch,lr,total,dice,focal,aux,cw,frm,at"));
        Assert.That(rows, Has.Length.EqualTo(5), "header + 4 steps");
        foreach (var row in rows.Skip(1))
            Assert.That(row.Split(',').Skip(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)), Has.All.Matches<double>(double.IsFinite));
        var entries = MedDistill.Torch.Serialization.Safetensors.ReadEntries(run.Folder.LastCheckpointPath).Select(e => e.Name).ToList();
        Assert.That(entries.Where(n => n.StartsWith("method.", StringComparison.Ordinal)), Is.Not.Empty, "FRM and temperature are checkpointed");
        Assert.That(result.Metrics!.Cases, Has.Count.EqualTo(2));
    }

    [Test]
    public void TheSameSpecTrainsToTheSameBytes()
    {
        var (a, b) = (ExperimentFixture.NewStore(), ExperimentFixture.NewStore());
        var options = new TrainerOptions { Workers = 0 };
        var first = new Trainer(PreparedRun.Prepare(Spec(), a, ExperimentFixture.DataDir), options).Train();
        var second = new Trainer(PreparedRun.Prepare(Spec(), b, ExperimentFixture.DataDir), options).Train();
        Assert.That(File.ReadAllBytes(b.Folder(second.RunId).ModelPath), Is.EqualTo(File.ReadAllBytes(a.Folder(first.RunId).ModelPath)));
    }

    [Test]
    public void ATrainRunTakesOnlySelfDistillation_ADistillMethodNeedsItsTeacher()
    {
        var store = ExperimentFixture.NewStore();
        var spec = SpecOverrides.Apply(ExperimentFixture.Tiny(), ["method.name=affinity-kd"]);
        var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir))!;
        Assert.That(e.Message, Does.StartWith("method.name:").And.Contain("self-distillation method (acw-skd, byot)"));
        var bad = SpecOverrides.Apply(Spec(), ["method.options.terms=aux+nope"]);
        Assert.That(() => PreparedRun.Prepare(bad, store, ExperimentFixture.DataDir), Throws.ArgumentException.With.Message.StartWith("method"));
    }
}
