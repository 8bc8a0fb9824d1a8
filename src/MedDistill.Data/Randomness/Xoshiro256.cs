namespace MedDistill.Data.Randomness;

/// <summary>
/// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64, as the authors recommend. Used wherever the data
/// layer needs reproducible randomness (phantom anatomy, shuffling, augmentation, validation splits): unlike
/// <see cref="System.Random"/>, whose algorithm .NET does not promise to keep, these sequences are fixed by the published
/// algorithms, so a seed means the same data on every runtime and platform.
/// </summary>
public sealed class Xoshiro256
{
    private ulong s0, s1, s2, s3;

    public Xoshiro256(ulong seed)
    {
        var sm = seed;
        s0 = SplitMix64(ref sm);
        s1 = SplitMix64(ref sm);
        s2 = SplitMix64(ref sm);
        s3 = SplitMix64(ref sm);
    }

    /// <summary>A generator for one item of a family (a case of a site, a sample of an epoch): the seed and the keys are
    /// mixed so neighbouring keys give unrelated streams.</summary>
    public static Xoshiro256 Derive(ulong seed, params ReadOnlySpan<ulong> keys) => new(Mix(seed, keys));

    /// <summary>One 64-bit value from a seed and keys (SplitMix64's finaliser applied after each key).</summary>
    public static ulong Mix(ulong seed, params ReadOnlySpan<ulong> keys)
    {
        ulong h = seed;
        var state = h;
        h = SplitMix64(ref state);
        foreach (var k in keys)
        {
            state = h ^ (k * 0xD1B54A32D192ED03UL);
            h = SplitMix64(ref state);
        }
        return h;
    }

    /// <summary>The SplitMix64 step (Steele, Lea and Flood 2014; Vigna's public-domain reference): advances the state, returns the mix.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public double Uniform(double min, double max) => min + (max - min) * NextDouble();

    /// <summary>True with probability <paramref name="p"/> (one draw is always consumed, so streams stay aligned whatever p is).</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Uniform integer in [0, n) without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"the range must be positive, not {n}");
        ulong range = (ulong)n;
        while (true)
        {
            ulong x = NextUInt64();
            UInt128 m = (UInt128)x * range;
            ulong low = (ulong)m;
            if (low >= range || low >= (0UL - range) % range) return (int)(ulong)(m >> 64);
        }
    }

    /// <summary>Uniform integer in [min, max] (both inclusive).</summary>
    public int NextInt(int min, int max) => min + NextInt(max - min + 1);

    /// <summary>Standard normal by the Box–Muller transform (one value per call; the pair's twin is dropped to keep the stream simple).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
