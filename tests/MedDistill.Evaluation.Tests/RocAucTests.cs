using MedDistill.Evaluation;
using NUnit.Framework;

namespace MedDistill.Evaluation.Tests;

public class RocAucTests
{
    [Test]
    public void ScikitLearnsDocumentedExampleIsThreeQuarters()
    {
        // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75 in scikit-learn's documentation.
        Assert.That(RocAuc.Compute([0.1f, 0.4f, 0.35f, 0.8f], [0, 0, 1, 1]), Is.EqualTo(0.75).Within(1e-12));
    }

    [Test]
    public void AgreesWithCountingEveryPositiveNegativePairIncludingTies()
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = rng.Next(2, 60);
            // Scores on a coarse grid so that ties occur.
            var scores = Enumerable.Range(0, n).Select(_ => rng.Next(0, 6) / 5f).ToArray();
            var labels = Enumerable.Range(0, n).Select(_ => (byte)rng.Next(0, 2)).ToArray();
            var mask = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.8).ToArray();
            double wins = 0, pairs = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (mask[i] && mask[j] && labels[i] == 1 && labels[j] == 0)
                    {
                        pairs++;
                        wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                    }
            double expected = pairs == 0 ? double.NaN : wins / pairs;
            Assert.That(RocAuc.Compute(scores, labels, mask), Is.EqualTo(expected).Within(1e-12), $"trial {trial}");
        }
    }

    [Test]
    public void PerfectAndReversedAndUndefined()
    {
        Assert.That(RocAuc.Compute([0.9f, 0.8f, 0.1f], [1, 1, 0]), Is.EqualTo(1.0));
        Assert.That(RocAuc.Compute([0.1f, 0.2f, 0.9f], [1, 1, 0]), Is.EqualTo(0.0));
        Assert.That(RocAuc.Compute([0.1f, 0.2f], [1, 1]), Is.NaN, "no negative pixel");
        Assert.That(RocAuc.Compute([0.1f, 0.9f], [1, 0], [false, true]), Is.NaN, "the mask leaves no positive");
        Assert.Throws<ArgumentException>(() => RocAuc.Compute([0.1f], [1, 0]));
    }
}
