using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Tests;

public class RunSpecTests
{
    [Test]
    public void TheIdIsAHashOfTheContent_NotOfTheLabelOrTheFileLayout()
    {
        var spec = ExperimentFixture.Tiny();
        var id = spec.Id();
        Assert.Multiple(() =>
        {
            Assert.That(RunStore.IsRunId(id), id);
            Assert.That(RunSpec.FromJson(spec.ToJson()).Id(), Is.EqualTo(id), "round trip");
            Assert.That((spec with { Label = "my teacher" }).Id(), Is.EqualTo(id), "label");
            Assert.That((spec with { Seed = 6 }).Id(), Is.Not.EqualTo(id), "seed");
            Assert.That((spec with { Schedule = spec.Schedule with { Epochs = 3 } }).Id(), Is.Not.EqualTo(id), "epochs");
            Assert.That((spec with { Data = spec.Data with { Split = spec.Data.Split with { Target = "S3" } } }).Id(), Is.Not.EqualTo(id), "target");
        });
        // Key order and whitespace of a hand-written file do not matter.
        var reordered = """
            { "seed": 5, "schedule": { "cyclicStepSize": 4, "batchSize": 16, "epochs": 2 },
              "data": { "split": { "validationFraction": 0.2, "target": "S2" }, "dataset": "phantom-prostate" },
              "model": { "width": 0.25, "name": "enet" } }
            """;
        Assert.That(RunSpec.FromJson(reordered).Id(), Is.EqualTo(id));
    }

    [Test]
    public void AnUnknownOrMistypedFieldIsNamed()
    {
        var unknown = Assert.Throws<ArgumentException>(() => RunSpec.FromJson("""{ "model": { "nmae": "enet" } }""", "my.json"))!;
        Assert.That(unknown.Message, Does.Contain("my.json").And.Contain("nmae"));
        var mistyped = Assert.Throws<ArgumentException>(() => RunSpec.FromJson("""{ "schedule": { "epochs": "many" } }"""))!;
        Assert.That(mistyped.Message, Does.Contain("schedule.epochs"));
    }

    [Test]
    public void OverridesEditNestedFieldsAndCreateMethodOptions()
    {
        var spec = SpecOverrides.Apply(ExperimentFixture.Tiny(),
            ["schedule.epochs=7", "data.split.target=S4", "method.options.affinity.margin=2.5", "method.name=affinity-kd", "Model.Width=0.5"]);
        Assert.Multiple(() =>
        {
            Assert.That(spec.Schedule.Epochs, Is.EqualTo(7));
            Assert.That(spec.Data.Split.Target, Is.EqualTo("S4"));
            Assert.That(spec.Method.Name, Is.EqualTo("affinity-kd"));
            Assert.That((double)spec.Method.Options!["affinity"]!["margin"]!, Is.EqualTo(2.5));
            Assert.That(spec.Model.Width, Is.EqualTo(0.5));
        });
        Assert.That(Assert.Throws<ArgumentException>(() => SpecOverrides.Apply(spec, ["schedule.epochs"]))!.Message, Does.Contain("path=value"));
        Assert.That(Assert.Throws<ArgumentException>(() => SpecOverrides.Apply(spec, ["schedule.epochz=3"]))!.Message, Does.Contain("epochz"));
    }
}
