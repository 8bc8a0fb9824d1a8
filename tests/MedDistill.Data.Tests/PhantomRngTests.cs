using MedDistill.Data.Randomness;

namespace MedDistill.Data.Tests;

public class PhantomRngTests
{
    [Test]
    public void SplitMix64_MatchesTheReferenceSequenceFromSeedZero()
    {
        // First outputs of Vigna's splitmix64.c from state 0 (0xE220A8397B1DCDAF is the widely quoted first value).
        ulong state = 0;
        Assert.That(Xoshiro256.SplitMix64(ref state), Is.EqualTo(0xE220A8397B1DCDAFUL));
        Assert.That(Xoshiro256.SplitMix64(ref state), Is.EqualTo(0x6E789E6AA1B965F4UL));
        Assert.That(Xoshiro256.SplitMix64(ref state), Is.EqualTo(0x06C45D188009454FUL));
    }

    [Test]
    public void Xoshiro256StarStar_MatchesTheReferenceAlgorithm()
    {
        // Expected values from a line-by-line transcription of xoshiro256starstar.c, state filled by splitmix64 from 12345.
        var rng = new Xoshiro256(12345);
        ulong[] expected = [13720838825685603483, 2398916695208396998, 17770384849984869256, 891717726879801395, 10241316046318454344];
        Assert.That(Enumerable.Range(0, 5).Select(_ => rng.NextUInt64()), Is.EqualTo(expected));
    }

    [Test]
    public void NextInt_IsUniformAndInRange()
    {
        var rng = new Xoshiro256(1);
        var counts = new int[7];
        for (int i = 0; i < 70000; i++) counts[rng.NextInt(7)]++;
        // Expected 10000 each; 5 standard deviations of a binomial(70000, 1/7) is about 460.
        Assert.That(counts, Has.All.InRange(9540, 10460));
    }

    [Test]
    public void Gaussian_HasUnitVariance()
    {
        var rng = new Xoshiro256(2);
        var v = Enumerable.Range(0, 100000).Select(_ => rng.NextGaussian()).ToArray();
        double mean = v.Average(), var = v.Select(x => (x - mean) * (x - mean)).Average();
        Assert.That(mean, Is.EqualTo(0).Within(0.02));
        Assert.That(var, Is.EqualTo(1).Within(0.02));
    }

    [Test]
    public void Derive_GivesIndependentStreamsForNeighbouringKeys()
    {
        var a = Xoshiro256.Derive(5, 1, 2).NextUInt64();
        var b = Xoshiro256.Derive(5, 1, 3).NextUInt64();
        var c = Xoshiro256.Derive(5, 2, 2).NextUInt64();
        Assert.That(new[] { a, b, c }.Distinct().Count(), Is.EqualTo(3));
        Assert.That(Xoshiro256.Derive(5, 1, 2).NextUInt64(), Is.EqualTo(a));
    }
}
