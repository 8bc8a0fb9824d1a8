using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Tests;

public class PreparedRunTests
{
    private static string FailureOf(RunSpec spec, RunStore? store = null)
    {
        store ??= ExperimentFixture.NewStore();
        var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir))!;
        Assert.That(store.List(), Is.Empty, "a rejected spec leaves no run folder");
        return e.Message;
    }

    [Test]
    public void ABadSpecFailsBeforeAnyWorkNamingTheField()
    {
        var tiny = ExperimentFixture.Tiny();
        Assert.Multiple(() =>
        {
            Assert.That(FailureOf(tiny with { Model = tiny.Model with { Name = "resnet" } }), Does.StartWith("model.name: unknown model 'resnet'"));
            Assert.That(FailureOf(tiny with { Model = tiny.Model with { InChannels = 3 } }), Does.StartWith("model.inChannels"));
            Assert.That(FailureOf(tiny with { Data = tiny.Data with { Dataset = "nowhere" } }), Does.StartWith("data.dataset: no preprocessed cache").And.Contain("data preprocess nowhere"));
            Assert.That(FailureOf(tiny with { Data = tiny.Data with { Split = tiny.Data.Split with { Target = "S9" } } }), Does.StartWith("data.split"));
            Assert.That(FailureOf(tiny with { Schedule = tiny.Schedule with { BatchSize = 0 } }), Does.StartWith("schedule.batchSize"));
            Assert.That(FailureOf(tiny with { Schedule = tiny.Schedule with { Optimizer = "lbfgs" } }), Does.StartWith("schedule.optimizer"));
            Assert.That(FailureOf(tiny with { Precision = "fp8" }), Does.StartWith("precision"));
            Assert.That(FailureOf(tiny with { Kind = "distill", Method = new MethodSpec { Name = "affinity-kd" } }), Does.StartWith("teacher"));
            Assert.That(FailureOf(tiny with { Kind = "distill", Teacher = "0123456789abcdef", Method = new MethodSpec { Name = "affinity-kd" } }),
                Does.StartWith("teacher: run 0123456789abcdef does not exist"));
            Assert.That(FailureOf(SpecOverrides.Apply(tiny, ["kind=distill", "teacher=0123456789abcdef", "method.name=affinity-kd", "method.options.affinity.margn=1"])),
                Does.StartWith("method.options").And.Contain("margn"));
            Assert.That(FailureOf(SpecOverrides.Apply(tiny, ["kind=distill", "teacher=0123456789abcdef", "method.name=affinity-kd", "method.options.terms=lm+xyz"])),
                Does.StartWith("method.options").And.Contain("xyz"));
            Assert.That(FailureOf(SpecOverrides.Apply(tiny, ["loss.focalGamma=-1"])), Does.StartWith("loss"));
        });
    }

    [Test]
    public void ImpossibleInputSizesAreCaughtFromTheCache()
    {
        // The tiny cache is 32×32: fine for every network (multiples of 8 or 16); a recipe of 40×40 is not for UNet++.
        var store = ExperimentFixture.NewStore();
        var data = Directory.CreateTempSubdirectory("md-exp-size-").FullName;
        try
        {
            var phantom = MedDistill.Data.Phantom.PhantomGenerator.Generate(data, ExperimentFixture.TinyPhantom);
            var recipe = ExperimentFixture.TinyRecipe with { Height = 40, Width = 40 };
            MedDistill.Data.Preprocessing.Preprocessor.Run(MedDistill.Data.Preprocessing.ProstateLayout.Discover(phantom.Directory), recipe,
                Path.Combine(data, "cache", recipe.Dataset));
            var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(ExperimentFixture.Tiny("unetpp", 0.125), store, data))!;
            Assert.That(e.Message, Does.StartWith("model.name: unetpp needs height and width multiples of 16").And.Contain("40×40"));
            Assert.DoesNotThrow(() => PreparedRun.Prepare(ExperimentFixture.Tiny("enet"), store, data));
        }
        finally { Directory.Delete(data, recursive: true); }
    }
}
