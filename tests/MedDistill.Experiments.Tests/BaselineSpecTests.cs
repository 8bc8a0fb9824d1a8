using System.Text.Json.Nodes;
using MedDistill.Distillation.Baselines;
using MedDistill.Distillation.Emkd;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>The ACW-SKD paper's baselines in run specs: options bind from JSON, unknown names are errors, BYOT trains alone.</summary>
public class BaselineSpecTests
{
    private static MethodSpec Method(string name, string? json) =>
        new() { Name = name, Options = json is null ? null : JsonNode.Parse(json)!.AsObject() };

    [Test]
    public void OptionsBindFromJson()
    {
        var kd = Objective.BindMethodOptions(Method("kd", """{"temperature": 2, "weight": 0.5}""")).Kd;
        Assert.That((kd.Temperature, kd.Weight), Is.EqualTo((2.0, 0.5)));
        var at = Objective.BindMethodOptions(Method("at", """{"tapPairs": [{"student": "layer2", "teacher": "enc4"}], "power": 3, "size": "smaller"}""")).At;
        Assert.That((at.TapPairs.Single(), at.Power, at.Size), Is.EqualTo((new TapPair("layer2", "enc4"), 3.0, CommonSize.Smaller)));
        var skd = Objective.BindMethodOptions(Method("skd", """{"terms": "pa", "grid": 2, "studentTap": "layer3", "pairWeight": 0.1}""")).Skd;
        Assert.That((skd.TermList, skd.Grid, skd.StudentTap, skd.TeacherTap, skd.PairWeight), Is.EqualTo((new[] { "pa" }, 2, "layer3", "encoder", 0.1)));
        var cwd = Objective.BindMethodOptions(Method("CWD", """{"studentTap": "decoder", "teacherTap": "decoder", "temperature": 1}""")).Cwd;
        Assert.That((cwd.StudentTap, cwd.TeacherTap, cwd.Temperature), Is.EqualTo(("decoder", "decoder", 1.0)));
        var byot = Objective.BindMethodOptions(Method("byot", """{"terms": "kl+ce", "klWeight": 0.3, "temperature": 2, "adapterBias": false}""")).Byot;
        Assert.That((byot.TermList, byot.KlWeight, byot.Temperature, byot.AdapterBias), Is.EqualTo((new[] { "ce", "kl" }, 0.3, 2.0, false)));
        var fsp = Objective.BindMethodOptions(Method("fsp", """{"pairs": [{"studentFirst": "stage2", "studentSecond": "encoder", "teacherFirst": "enc3", "teacherSecond": "encoder"}], "weight": 0.1, "adapterBias": false}""")).Fsp;
        Assert.That((fsp.Pairs.Single(), fsp.Weight, fsp.AdapterBias), Is.EqualTo((new FspPair("stage2", "encoder", "enc3", "encoder"), 0.1, false)));
        var ifvd = Objective.BindMethodOptions(Method("ifvd", """{"studentTap": "up3", "weight": 50}""")).Ifvd;
        Assert.That((ifvd.StudentTap, ifvd.TeacherTap, ifvd.Weight), Is.EqualTo(("up3", "decoder", 50.0)));
        Assert.That(Objective.BindMethodOptions(Method("fsp", null)).Fsp.Pairs.Single(), Is.EqualTo(new FspPair("encoder", "decoder", "encoder", "decoder")));
        // No options: the defaults.
        Assert.That(Objective.BindMethodOptions(Method("skd", null)).Skd, Is.EqualTo(new SkdOptions()));
    }

    [TestCase("kd", """{"tau": 4}""")]
    [TestCase("at", """{"pairs": []}""")]
    [TestCase("at", """{"tapPairs": [{"student": "layer1", "teacher": "enc3", "weight": 1}]}""")]
    [TestCase("skd", """{"beta": 4}""")]
    [TestCase("cwd", """{"tap": "logits"}""")]
    [TestCase("byot", """{"hintWeigth": 1}""")]
    [TestCase("fsp", """{"tapPairs": []}""")]
    [TestCase("fsp", """{"pairs": [{"student": "encoder", "teacher": "encoder"}]}""")]
    [TestCase("ifvd", """{"tap": "decoder"}""")]
    public void UnknownOptionNamesAreErrors(string name, string json) =>
        Assert.That(() => Objective.BindMethodOptions(Method(name, json)), Throws.ArgumentException.With.Message.StartWith("method.options"));

    [TestCase("kd", """{"temperature": 0}""")]
    [TestCase("at", """{"tapPairs": []}""")]
    [TestCase("at", """{"size": "bigger"}""")]
    [TestCase("skd", """{"terms": "pi+holistic"}""")]
    [TestCase("skd", """{"grid": 0}""")]
    [TestCase("cwd", """{"weight": -1}""")]
    [TestCase("byot", """{"terms": ""}""")]
    [TestCase("fsp", """{"pairs": []}""")]
    [TestCase("fsp", """{"pairs": [{"studentFirst": "encoder", "studentSecond": "decoder", "teacherFirst": "encoder"}]}""")]
    [TestCase("ifvd", """{"weight": -1}""")]
    [TestCase("ifvd", """{"teacherTap": " "}""")]
    public void BadValuesAreErrors(string name, string json) =>
        Assert.That(() => Objective.BindMethodOptions(Method(name, json)), Throws.ArgumentException.With.Message.StartWith("method.options"));

    [Test]
    public void ObjectiveTermNamesFollowTheOptions()
    {
        using var student = ModelRegistry.Create("resnet18-unet", new ModelOptions(1, 2, 0.125));
        using var teacher = ModelRegistry.Create("unet", new ModelOptions(1, 2, 0.125));
        RunSpec Spec(string name, string? json) => ExperimentFixture.Tiny("resnet18-unet", 0.125) with { Method = Method(name, json) };
        using (var skd = Objective.Create(Spec("skd", """{"terms": "pa"}"""), student, teacher))
            Assert.That(skd.TermNames, Is.EqualTo(new[] { "dice", "focal", "pa" }));
        using (var kd = Objective.Create(Spec("kd", null), student, teacher))
            Assert.That(kd.TermNames, Is.EqualTo(new[] { "dice", "focal", "kd" }));
        using (var fsp = Objective.Create(Spec("fsp", null), student, teacher))
        {
            Assert.That(fsp.TermNames, Is.EqualTo(new[] { "dice", "focal", "fsp" }));
            Assert.That(fsp.TrainableModule, Is.Not.Null, "resnet18-unet's encoder (64) and decoder (4) widths differ from unet's (128, 8)");
        }
        using (var ifvd = Objective.Create(Spec("ifvd", null), student, teacher))
            Assert.That((ifvd.TermNames, ifvd.TrainableModule), Is.EqualTo((new[] { "dice", "focal", "ifvd" }, (nn.Module?)null)));
        using (var byot = Objective.Create(Spec("byot", null), student, null))
        {
            Assert.That(byot.TermNames, Is.EqualTo(new[] { "dice", "focal", "ce", "kl", "hint" }));
            Assert.That(byot.IsSelfDistillation);
            Assert.That(byot.TrainableModule, Is.Not.Null);
        }
        Assert.Throws<ArgumentException>(() => Objective.Create(Spec("at", null), student, null));
    }

    [Test]
    public void AByotTrainRunLogsItsTerms()
    {
        var store = ExperimentFixture.NewStore();
        var spec = SpecOverrides.Apply(ExperimentFixture.Tiny("resnet18-unet", 0.125) with { Schedule = ExperimentFixture.Tiny().Schedule with { Iterations = 2 } },
            ["method.name=byot", "method.options.klWeight=0.5"]);
        var run = PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir);
        var result = new Trainer(run, new TrainerOptions { Workers = 0 }).Train();
        Assert.That(result.Outcome, Is.EqualTo(TrainOutcome.Finished));
        Assert.That(File.ReadAllLines(run.Folder.StepLogPath)[0], Is.EqualTo("step,epoch,lr,total,dice,focal,ce,kl,hint"));
    }
}
