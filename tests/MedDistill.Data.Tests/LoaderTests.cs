using MedDistill.Data.Loading;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

public class LoaderTests
{
    private static string Cache => PhantomTestData.CacheDir;

    [Test]
    public void Batches_BecomeFloatImageAndInt64LabelTensorsOfTheRightShape()
    {
        var dataset = new SliceDataset(Cache, options: new SliceDatasetOptions { Channels = 3 });
        var loader = new SliceLoader(dataset, new LoaderOptions { BatchSize = 5, Seed = 1 });
        var batches = loader.Epoch(0).ToList();
        Assert.That(batches, Has.Count.EqualTo((dataset.Count + 4) / 5));
        Assert.That(batches.Sum(b => b.Count), Is.EqualTo(dataset.Count));
        Assert.That(batches[^1].Count, Is.EqualTo(dataset.Count % 5 == 0 ? 5 : dataset.Count % 5));
        Assert.That(new SliceLoader(dataset, new LoaderOptions { BatchSize = 5, DropLast = true }).Epoch(0).All(b => b.Count == 5));

        using var scope = torch.NewDisposeScope();
        var (image, label) = batches[0].ToTensors();
        Assert.That(image.shape, Is.EqualTo(new long[] { 5, 3, 48, 48 }));
        Assert.That(label.shape, Is.EqualTo(new long[] { 5, 48, 48 }));
        Assert.That(image.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(label.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(image.ToArray<float>().AsSpan().SequenceEqual(batches[0].Image), "image values");
        Assert.That(label.ToArray<long>().SequenceEqual(batches[0].Label.Select(v => (long)v)), "label values");
        Assert.That(scope.Count, Is.GreaterThanOrEqualTo(2), "the tensors belong to the caller's scope");
    }

    [Test]
    public void NeighbourChannels_RepeatTheEndSlicesAtTheVolumeEnds()
    {
        var dataset = new SliceDataset(Cache, options: new SliceDatasetOptions { Channels = 5 });
        var c = dataset.Cases[0];
        var volume = CacheArrays.ReadImage(Cache, c);
        int plane = c.Height * c.Width, last = c.Slices - 1;
        float[] SliceOf(int z) => volume.AsSpan(z * plane, plane).ToArray();
        (float[] Image, byte[] Label) Sample(int slice)
        {
            int index = dataset.Samples.ToList().FindIndex(s => s.CaseIndex == 0 && s.Slice == slice);
            var image = new float[5 * plane];
            var label = new byte[plane];
            dataset.Fill(index, image, label, AugmentationDraw.Identity);
            return (image, label);
        }
        var (first, firstLabel) = Sample(0);
        int[] expectFirst = [0, 0, 0, 1, 2];
        for (int ch = 0; ch < 5; ch++) Assert.That(first.AsSpan(ch * plane, plane).ToArray(), Is.EqualTo(SliceOf(expectFirst[ch])), $"channel {ch} at slice 0");
        Assert.That(firstLabel, Is.EqualTo(CacheArrays.ReadLabel(Cache, c).AsSpan(0, plane).ToArray()));
        var (end, _) = Sample(last);
        int[] expectLast = [last - 2, last - 1, last, last, last];
        for (int ch = 0; ch < 5; ch++) Assert.That(end.AsSpan(ch * plane, plane).ToArray(), Is.EqualTo(SliceOf(expectLast[ch])), $"channel {ch} at the last slice");
        var (mid, _) = Sample(3);
        for (int ch = 0; ch < 5; ch++) Assert.That(mid.AsSpan(ch * plane, plane).ToArray(), Is.EqualTo(SliceOf(1 + ch)));
    }

    [Test]
    public void Augmentation_IsDeterministicForASeed_AndDiffersAcrossSeedsAndEpochs()
    {
        var dataset = new SliceDataset(Cache, options: new SliceDatasetOptions { Channels = 3 });
        List<HostBatch> Run(ulong seed, int epoch) =>
            new SliceLoader(dataset, new LoaderOptions { BatchSize = 8, Seed = seed, Augmentation = new AugmentationOptions() }).Epoch(epoch).Take(3).ToList();
        var a = Run(3, 0);
        var b = Run(3, 0);
        var c = Run(4, 0);
        var d = Run(3, 1);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.That(b[i].Image.AsSpan().SequenceEqual(a[i].Image), $"batch {i} image");
            Assert.That(b[i].Label.AsSpan().SequenceEqual(a[i].Label), $"batch {i} label");
            Assert.That(b[i].Samples, Is.EqualTo(a[i].Samples));
        }
        Assert.That(c[0].Image.AsSpan().SequenceEqual(a[0].Image), Is.False, "another seed");
        Assert.That(d[0].Image.AsSpan().SequenceEqual(a[0].Image), Is.False, "another epoch");
    }

    [Test]
    public void Augmentation_OfTheSameSample_DoesNotDependOnOrderOrBatch()
    {
        // Per-sample seeds: sample k's augmentation in epoch e is the same whether shuffled or not, whatever its batch.
        var dataset = new SliceDataset(Cache);
        var aug = new AugmentationOptions();
        var shuffled = new SliceLoader(dataset, new LoaderOptions { BatchSize = 7, Seed = 9, Augmentation = aug });
        var ordered = new SliceLoader(dataset, new LoaderOptions { BatchSize = 3, Seed = 9, Augmentation = aug, Shuffle = false });
        int plane = dataset.Height * dataset.Width;
        var fromOrdered = ordered.Epoch(2).SelectMany(b => Enumerable.Range(0, b.Count).Select(i => b.Image.AsSpan(i * plane, plane).ToArray())).ToList();
        var batch = shuffled.Epoch(2).First();
        var order = shuffled.Order(2);
        for (int i = 0; i < batch.Count; i++)
            Assert.That(batch.Image.AsSpan(i * plane, plane).SequenceEqual(fromOrdered[order[i]]), $"sample {order[i]}");
    }

    [Test]
    public void GeometricAugmentation_KeepsImageAndLabelAligned()
    {
        // An image equal to its label (clip 0–100 %, no normalisation) stays equal to it under flips, rotation and scaling
        // when both are resampled nearest.
        var root = PhantomTestData.NewTempDir("md-loader-align-");
        try
        {
            var data = Path.Combine(root, "data", "SITE");
            var mask = new float[4 * 40 * 40];
            for (int z = 0; z < 4; z++)
                for (int y = 0; y < 40; y++)
                    for (int x = 0; x < 40; x++)
                        mask[(z * 40 + y) * 40 + x] = (x > 8 && x < 22 && y > 5 && y < 30) || (x - 28) * (x - 28) + (y - 12) * (y - 12) < 20 + z ? 1 : 0;
            Nifti.Write(Path.Combine(data, "Case00.nii.gz"), new Volume(mask, [4, 40, 40]));
            Nifti.Write(Path.Combine(data, "Case00_Segmentation.nii.gz"), new Volume(mask, [4, 40, 40]), VoxelType.UInt8);
            var cache = Path.Combine(root, "cache");
            var recipe = new PreprocessRecipe { Dataset = "align", Height = 40, Width = 40, ClipLowerPercentile = 0, ClipUpperPercentile = 100, Normalisation = IntensityNormalisation.None };
            Preprocessor.Run(ProstateLayout.Discover(Path.Combine(root, "data")), recipe, cache);
            var dataset = new SliceDataset(cache);
            var aug = new AugmentationOptions
            {
                HorizontalFlipProbability = 0.5, VerticalFlipProbability = 0.5, RotationProbability = 1, MaxRotationDegrees = 40, ScaleProbability = 1,
                MinScale = 0.7, MaxScale = 1.3, IntensityProbability = 0, ImageInterpolation = Interpolation.Nearest,
            };
            var loader = new SliceLoader(dataset, new LoaderOptions { BatchSize = 4, Augmentation = aug, Seed = 5 });
            int moved = 0;
            for (int epoch = 0; epoch < 5; epoch++)
                foreach (var batch in loader.Epoch(epoch))
                {
                    Assert.That(batch.Image.Select(v => (byte)v), Is.EqualTo(batch.Label), $"epoch {epoch}");
                    for (int i = 0; i < batch.Count; i++)
                        if (!batch.Label.AsSpan(i * 1600, 1600).SequenceEqual(mask.AsSpan(batch.Samples[i].Slice * 1600, 1600).ToArray().Select(v => (byte)v).ToArray())) moved++;
                }
            Assert.That(moved, Is.GreaterThan(15), "the augmentation did move pixels");
        }
        finally { Directory.Delete(root, true); }
    }

    [Test]
    public void HorizontalFlip_MirrorsImageAndLabelExactly()
    {
        var dataset = new SliceDataset(Cache);
        int h = dataset.Height, w = dataset.Width;
        int index = dataset.Samples.ToList().FindIndex(s => dataset.Cases[s.CaseIndex].ForegroundPerSlice[s.Slice] > 0);
        var plain = new float[h * w];
        var plainLabel = new byte[h * w];
        dataset.Fill(index, plain, plainLabel, AugmentationDraw.Identity);
        var flipped = new float[h * w];
        var flippedLabel = new byte[h * w];
        dataset.Fill(index, flipped, flippedLabel, AugmentationDraw.Identity with { FlipHorizontal = true });
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                Assert.That(flipped[y * w + x], Is.EqualTo(plain[y * w + w - 1 - x]).Within(1e-6));
                Assert.That(flippedLabel[y * w + x], Is.EqualTo(plainLabel[y * w + w - 1 - x]));
            }
        var jitter = new float[h * w];
        dataset.Fill(index, jitter, flippedLabel, AugmentationDraw.Identity with { IntensityScale = 2, IntensityShift = 0.5 });
        Assert.That(jitter[17], Is.EqualTo(plain[17] * 2 + 0.5f).Within(1e-6));
    }

    [Test]
    public void Prefetching_YieldsExactlyTheSynchronousBatches()
    {
        var dataset = new SliceDataset(Cache, options: new SliceDatasetOptions { Channels = 3 });
        var options = new LoaderOptions { BatchSize = 6, Seed = 21, Augmentation = new AugmentationOptions() };
        var sync = new SliceLoader(dataset, options);
        var prefetch = new SliceLoader(dataset, options with { Workers = 3, Prefetch = 2 });
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var a = sync.Epoch(epoch).ToList();
            var b = prefetch.Epoch(epoch).ToList();
            Assert.That(b, Has.Count.EqualTo(a.Count));
            for (int i = 0; i < a.Count; i++)
            {
                Assert.That(b[i].Image.AsSpan().SequenceEqual(a[i].Image), $"epoch {epoch} batch {i} image");
                Assert.That(b[i].Label.AsSpan().SequenceEqual(a[i].Label), $"epoch {epoch} batch {i} label");
                Assert.That(b[i].Samples, Is.EqualTo(a[i].Samples));
            }
        }
        // Stopping early ends the workers (the enumerator's Dispose joins them), and a later epoch still works.
        Assert.That(prefetch.Epoch(5).Take(2).Count(), Is.EqualTo(2));
        Assert.That(prefetch.Epoch(5).Count(), Is.EqualTo(sync.BatchesPerEpoch));
    }

    [Test]
    public void StartingAnEpochMidway_YieldsTheRemainingBatchesOfTheFullEpoch([Values(0, 3)] int workers)
    {
        var dataset = new SliceDataset(Cache);
        var options = new LoaderOptions { BatchSize = 5, Seed = 8, Augmentation = new AugmentationOptions(), Workers = workers };
        var loader = new SliceLoader(dataset, options);
        var full = loader.Epoch(3).ToList();
        var tail = loader.Epoch(3, firstBatch: 2).ToList();
        Assert.That(tail, Has.Count.EqualTo(full.Count - 2));
        for (int i = 0; i < tail.Count; i++)
        {
            Assert.That(tail[i].Samples, Is.EqualTo(full[i + 2].Samples));
            Assert.That(tail[i].Image.AsSpan().SequenceEqual(full[i + 2].Image), $"batch {i + 2}");
        }
        Assert.That(loader.Epoch(3, loader.BatchesPerEpoch), Is.Empty);
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(3, loader.BatchesPerEpoch + 1));
    }

    [Test]
    public void WorkerFailure_ReachesTheConsumer()
    {
        var root = PhantomTestData.NewTempDir("md-loader-fail-");
        try
        {
            var cache = Path.Combine(root, "cache");
            PhantomTestData.CopyDirectory(Cache, cache);
            var dataset = new SliceDataset(cache);
            File.Delete(Path.Combine(cache, dataset.Cases[^1].ImageFile));
            var loader = new SliceLoader(dataset, new LoaderOptions { BatchSize = 4, Workers = 2, Shuffle = false });
            Assert.Throws<FileNotFoundException>(() => loader.Epoch(0).ToList());
        }
        finally { Directory.Delete(root, true); }
    }

    [Test]
    public void ForegroundFilter_KeepsEveryForegroundSliceAndTheChosenFractionOfEmptyOnes()
    {
        var all = new SliceDataset(Cache);
        var index = CacheIndex.Read(Cache);
        int total = index.Cases.Sum(c => c.Slices), withForeground = index.Cases.Sum(c => c.ForegroundPerSlice.Count(n => n > 0));
        Assert.That(all.Count, Is.EqualTo(total));
        var onlyForeground = new SliceDataset(Cache, options: new SliceDatasetOptions { EmptySliceFraction = 0 });
        Assert.That(onlyForeground.Count, Is.EqualTo(withForeground));
        Assert.That(onlyForeground.Samples.All(s => index.Cases[s.CaseIndex].ForegroundPerSlice[s.Slice] > 0));
        var half = new SliceDataset(Cache, options: new SliceDatasetOptions { EmptySliceFraction = 0.5, FilterSeed = 3 });
        Assert.That(half.Count, Is.InRange(withForeground + 1, total - 1));
        Assert.That(new SliceDataset(Cache, options: new SliceDatasetOptions { EmptySliceFraction = 0.5, FilterSeed = 3 }).Samples, Is.EqualTo(half.Samples));
        TestContext.Out.WriteLine($"{total} slices, {withForeground} with foreground, {half.Count} kept at fraction 0.5");
    }

    [Test]
    public void Shuffle_IsAPermutation_SameForASeed_DifferentPerEpoch()
    {
        var loader = new SliceLoader(new SliceDataset(Cache), new LoaderOptions { Seed = 8 });
        var e0 = loader.Order(0);
        Assert.That(e0.Order(), Is.EqualTo(Enumerable.Range(0, loader.Dataset.Count)));
        Assert.That(e0, Is.Not.EqualTo(Enumerable.Range(0, loader.Dataset.Count)));
        Assert.That(new SliceLoader(loader.Dataset, new LoaderOptions { Seed = 8 }).Order(0), Is.EqualTo(e0));
        Assert.That(loader.Order(1), Is.Not.EqualTo(e0));
    }

    [Test]
    public void CaseSelection_UsesOnlyThoseCases_AndNamesUnknownOnes()
    {
        var ds = new SliceDataset(Cache, ["HK/Case01", "RUNMC/Case00"]);
        Assert.That(ds.Samples.Select(s => s.CaseId).Distinct(), Is.EqualTo(new[] { "HK/Case01", "RUNMC/Case00" }));
        Assert.That(ds.Samples.Where(s => s.CaseId == "HK/Case01").All(s => s.Site == "HK"));
        var e = Assert.Throws<ArgumentException>(() => new SliceDataset(Cache, ["HK/Case99"]));
        Assert.That(e!.Message, Does.Contain("HK/Case99"));
    }
}
