using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;

namespace MedDistill.Experiments.Tests;

public class DomainEvaluatorTests
{
    [Test]
    public void PixelMetricsInsideTheFieldOfView_MatchHandCountedConfusion()
    {
        // Inside the field of view (the first five pixels): prediction 1 0 1 0 1 against reference 1 0 0 1 1:
        // TP 2, FP 1, FN 1, TN 1. The sixth pixel (a confident miss outside the FOV) must not count.
        float[] probability = [0.9f, 0.2f, 0.7f, 0.4f, 0.6f, 0.1f];
        byte[] reference = [1, 0, 0, 1, 1, 1];
        bool[] fov = [true, true, true, true, true, false];
        var m = DomainEvaluator.Score("c", "S", probability, reference, fov, VolumeGrid.FromShape([1, 2, 3], [1.0, 1.0, 1.0]));
        Assert.That(m.Pixels, Is.EqualTo(5));
        Assert.That(m.Dice, Is.EqualTo(4.0 / 6).Within(1e-12));
        Assert.That(m.Accuracy, Is.EqualTo(3.0 / 5).Within(1e-12));
        Assert.That(m.Sensitivity, Is.EqualTo(2.0 / 3).Within(1e-12));
        Assert.That(m.Specificity, Is.EqualTo(1.0 / 2).Within(1e-12));
        Assert.That(m.MeanIou, Is.EqualTo((2.0 / 4 + 1.0 / 3) / 2).Within(1e-12), "IoU of vessel 2/4 and of background 1/3");
        // Positives 0.9, 0.4, 0.6 against negatives 0.2, 0.7: four of six pairs ordered right.
        Assert.That(m.Auc, Is.EqualTo(4.0 / 6).Within(1e-12));
    }

    [Test]
    public void WithoutAFieldOfView_EveryPixelCounts()
    {
        float[] probability = [0.9f, 0.2f, 0.7f, 0.4f];
        byte[] reference = [1, 0, 1, 0];
        var m = DomainEvaluator.Score("c", "S", probability, reference, null, VolumeGrid.FromShape([1, 2, 2], [1.0, 1.0, 1.0]));
        Assert.That((m.Pixels, m.Dice, m.Accuracy, m.Auc), Is.EqualTo((4L, 1.0, 1.0, 1.0)));
    }
}
