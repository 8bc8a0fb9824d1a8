using MedDistill.Data.Loading;
using MedDistill.Data.Preprocessing;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Experiments.Evaluation;

/// <summary>
/// Predicts whole cases of a cache: every slice (with its neighbours as channels, as in training), in eval mode under
/// no_grad, in batches; the per-slice argmax label maps are stacked back into the case's (z, y, x) label volume.
/// </summary>
public sealed class VolumePredictor(SegmentationModel model, string cacheDir, int channels, int batchSize, Device device, bool bf16 = false)
{
    /// <summary>The predicted label volume of <paramref name="c"/>, C order (z, y, x), one class index per voxel.</summary>
    public byte[] Predict(CachedCase c)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var dataset = new SliceDataset(cacheDir, [c.Id], new SliceDatasetOptions { Channels = channels, EmptySliceFraction = 1 });
            if (dataset.Count != c.Slices) throw new InvalidDataException($"{cacheDir}: case {c.Id} yields {dataset.Count} slices, its index says {c.Slices}");
            var loader = new SliceLoader(dataset, new LoaderOptions { BatchSize = batchSize, Shuffle = false });
            int plane = c.Height * c.Width;
            var volume = new byte[(long)c.Slices * plane];
            int offset = 0;
            foreach (var batch in loader.Epoch(0))
            {
                // One scope per batch: a big teacher's activations are freed before the next batch.
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var (image, _) = batch.ToTensors(device);
                Tensor logits;
                using (bf16 ? autocast(device.Type) : null) logits = model.call(image);
                using var labels = logits.argmax(1).to(ScalarType.Byte).cpu();
                labels.ToArray<byte>().CopyTo(volume.AsSpan(offset * plane, batch.Count * plane));
                offset += batch.Count;
            }
            return volume;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
