using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests.Reports;

public class RenderCaseTests
{
    [Test]
    public void ARunsModelIsRenderedOnTheLargestGroundTruthSliceOfATestCase()
    {
        var run = PreparedRun.Prepare(ExperimentFixture.Tiny(), ExperimentFixture.NewStore(), ExperimentFixture.DataDir);
        var c = run.Cache.Cases.First(k => run.Split[DataSplit.Test].Contains(k.Id));
        manual_seed(3);
        using var model = ModelRegistry.Create("enet", Trainer.ToOptions(run.Spec.Model));

        var overlay = OverlayRenderer.RenderCase(model, run, c.Id);

        var truth = CacheArrays.ReadLabel(run.CacheDir, c);
        int plane = c.Height * c.Width;
        int largest = Enumerable.Range(0, c.Slices).MaxBy(z => truth.AsSpan(z * plane, plane).ToArray().Count(v => v != 0));
        var predicted = new VolumePredictor(model, run.CacheDir, run.Spec.Data.Channels, 8, Device.CPU).Predict(c);
        Assert.Multiple(() =>
        {
            Assert.That(overlay.SliceIndex, Is.EqualTo(largest));
            Assert.That(overlay.GroundTruthPixels, Is.EqualTo(c.ForegroundPerSlice[largest]), "the cache index counts the same voxels");
            Assert.That(overlay.PredictedPixels, Is.EqualTo(predicted.AsSpan(largest * plane, plane).ToArray().Count(v => v != 0)));
            Assert.That((overlay.Image.Width, overlay.Image.Height), Is.EqualTo((c.Width * 3, c.Height * 3)));
        });

        // The run's saved weights give the same picture as the model they came from.
        TrainingCheckpoint.SaveWeights(run.Folder.ModelPath, model, new Dictionary<string, string>());
        var saved = OverlayRenderer.RenderSavedCase(run, c.Id);
        Assert.That(saved.Image.Pixels, Is.EqualTo(overlay.Image.Pixels));
        Assert.Throws<ArgumentException>(() => OverlayRenderer.RenderCase(model, run, "no-such-case"));
    }
}
