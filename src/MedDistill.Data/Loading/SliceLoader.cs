using MedDistill.Data.Randomness;
using MedDistill.Torch;

namespace MedDistill.Data.Loading;

/// <summary>How a <see cref="SliceLoader"/> batches, shuffles, augments and prefetches.</summary>
public sealed record LoaderOptions
{
    public int BatchSize { get; init; } = 16;
    public bool Shuffle { get; init; } = true;

    /// <summary>Drop the last batch when it is smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>Seed of the shuffle and of every augmentation draw.</summary>
    public ulong Seed { get; init; }

    /// <summary>Background threads building batches; 0 builds them on the consumer's thread when asked for.</summary>
    public int Workers { get; init; }

    /// <summary>Most batches built ahead of the consumer (including those being built), per epoch.</summary>
    public int Prefetch { get; init; } = 4;

    /// <summary>Augmentation of each sample (default none).</summary>
    public AugmentationOptions Augmentation { get; init; } = AugmentationOptions.None;

    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"loader: BatchSize {BatchSize} must be positive");
        if (Workers < 0 || Workers > 256) throw new ArgumentException($"loader: Workers {Workers} must be in 0..256");
        if (Prefetch < 1) throw new ArgumentException($"loader: Prefetch {Prefetch} must be positive");
        ArgumentNullException.ThrowIfNull(Augmentation);
        Augmentation.Validate();
    }
}

/// <summary>
/// One batch in plain managed arrays, built off the training thread: <see cref="Image"/> is (N, C, H, W) float32 and
/// <see cref="Label"/> (N, H, W) class indices, both C order. <see cref="ToTensors"/> makes the tensors on the caller's
/// thread, so they belong to the caller's dispose scope.
/// </summary>
public sealed class HostBatch
{
    internal HostBatch(int count, int channels, int height, int width, SliceSample[] samples)
    {
        (Count, Channels, Height, Width, Samples) = (count, channels, height, width, samples);
        Image = new float[(long)count * channels * height * width];
        Label = new byte[(long)count * height * width];
    }

    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public float[] Image { get; }
    public byte[] Label { get; }

    /// <summary>Case id, site and slice of each sample, in batch order.</summary>
    public SliceSample[] Samples { get; }

    /// <summary>(N, C, H, W) float32 image and (N, H, W) int64 label tensors, created in the current dispose scope.</summary>
    public (Tensor Image, Tensor Label) ToTensors(Device? device = null)
    {
        var image = torch.tensor<float>(Image, [Count, Channels, Height, Width], device: device);
        var label = torch.tensor<byte>(Label, [Count, Height, Width], ScalarType.Int64, device);
        return (image, label);
    }
}

/// <summary>
/// Batches of a <see cref="SliceDataset"/>. Everything random derives from <see cref="LoaderOptions.Seed"/>: the sample order
/// of epoch e from (seed, e), and each sample's augmentation from (seed, e, sample index in the data set), so a batch's
/// content does not depend on which thread built it or when. With workers, batches come back in order and at most
/// <see cref="LoaderOptions.Prefetch"/> are built ahead; they are identical to those built without workers.
/// </summary>
public sealed class SliceLoader
{
    private const ulong ShuffleStream = 0x5_4F_F1E, AugmentStream = 0xA_06;

    public SliceLoader(SliceDataset dataset, LoaderOptions? options = null)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        Options = options ?? new LoaderOptions();
        Options.Validate();
    }

    public SliceDataset Dataset { get; }
    public LoaderOptions Options { get; }

    public int BatchesPerEpoch => Options.DropLast ? Dataset.Count / Options.BatchSize : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Sample indices of epoch <paramref name="epoch"/>, in the order they are batched.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Options.Shuffle) Xoshiro256.Derive(Options.Seed, ShuffleStream, (ulong)epoch).Shuffle(order);
        return order;
    }

    /// <summary>The augmentation of sample <paramref name="sampleIndex"/> in epoch <paramref name="epoch"/>.</summary>
    public AugmentationDraw DrawFor(int epoch, int sampleIndex) =>
        AugmentationDraw.Sample(Options.Augmentation, Xoshiro256.Derive(Options.Seed, AugmentStream, (ulong)epoch, (ulong)sampleIndex));

    /// <summary>
    /// The batches of one epoch, from batch <paramref name="firstBatch"/> on (a resumed run skips the batches it already
    /// trained on without building them; the batches it gets are the same as in an uninterrupted epoch). Stop early by
    /// disposing the enumerator (a foreach's break does): workers stop too.
    /// </summary>
    public IEnumerable<HostBatch> Epoch(int epoch, int firstBatch = 0)
    {
        if (firstBatch < 0 || firstBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"an epoch has {BatchesPerEpoch} batches");
        return EpochFrom(epoch, firstBatch);
    }

    private IEnumerable<HostBatch> EpochFrom(int epoch, int firstBatch)
    {
        var order = Order(epoch);
        int batches = BatchesPerEpoch;
        if (Options.Workers == 0)
        {
            for (int b = firstBatch; b < batches; b++) yield return Build(order, b, epoch);
            yield break;
        }

        var results = new TaskCompletionSource<HostBatch>[batches];
        for (int b = 0; b < batches; b++) results[b] = new TaskCompletionSource<HostBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        using var slots = new SemaphoreSlim(Options.Prefetch);
        int next = firstBatch - 1;
        var threads = new Thread[Math.Min(Options.Workers, Math.Max(1, batches - firstBatch))];
        for (int t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(() =>
            {
                while (true)
                {
                    try { slots.Wait(stop.Token); }
                    catch (OperationCanceledException) { return; }
                    int b = Interlocked.Increment(ref next);
                    if (b >= batches) return;
                    try { results[b].SetResult(Build(order, b, epoch)); }
                    catch (Exception e) { results[b].SetException(e); }
                }
            }) { IsBackground = true, Name = $"slice-loader-{t}" };
            threads[t].Start();
        }
        try
        {
            for (int b = firstBatch; b < batches; b++)
            {
                var batch = results[b].Task.GetAwaiter().GetResult();
                results[b] = null!; // let the batch go once the consumer is done with it
                slots.Release();
                yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            foreach (var t in threads) t.Join();
        }
    }

    private HostBatch Build(int[] order, int batch, int epoch)
    {
        int start = batch * Options.BatchSize, count = Math.Min(Options.BatchSize, order.Length - start);
        int c = Dataset.Channels, h = Dataset.Height, w = Dataset.Width, plane = h * w;
        var samples = new SliceSample[count];
        for (int i = 0; i < count; i++) samples[i] = Dataset.Samples[order[start + i]];
        var result = new HostBatch(count, c, h, w, samples);
        for (int i = 0; i < count; i++)
        {
            int index = order[start + i];
            Dataset.Fill(index, result.Image.AsSpan(i * c * plane, c * plane), result.Label.AsSpan(i * plane, plane), DrawFor(epoch, index),
                Options.Augmentation.ImageInterpolation);
        }
        return result;
    }
}
