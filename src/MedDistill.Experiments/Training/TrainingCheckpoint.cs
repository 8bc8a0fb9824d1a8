using System.Globalization;
using System.Text.Json;
using MedDistill.Torch;
using MedDistill.Torch.Optim;
using MedDistill.Torch.Serialization;
using static MedDistill.Torch.torch;

namespace MedDistill.Experiments.Training;

/// <summary>
/// Where training stands at a checkpoint: the next step to run and everything accumulated so far that the rest of the
/// run depends on (the epoch's running loss for its mean, the best validation so far).
/// </summary>
public sealed record TrainingPosition
{
    /// <summary>Optimiser steps done.</summary>
    public long Step { get; init; }

    /// <summary>The epoch the next step belongs to, and the batch of that epoch it trains on.</summary>
    public int Epoch { get; init; }
    public int BatchInEpoch { get; init; }

    public double EpochLossSum { get; init; }
    public int EpochLossCount { get; init; }
    public int? BestEpoch { get; init; }
    public double? BestValidationDice { get; init; }
    public required string RunId { get; init; }
}

/// <summary>
/// One safetensors file holding a resume point: the student's weights and buffers (<c>model.*</c>), the method's
/// trainable modules such as the KMM adapter (<c>method.*</c>), the optimiser (<c>optimizer.*</c>) and scheduler
/// (<c>scheduler.*</c>) states, and the <see cref="TrainingPosition"/> as metadata. Randomness needs no stored state:
/// every step reseeds libtorch from (seed, step) and the loader derives batches from (seed, epoch), so the position is
/// the RNG state. Written atomically by <see cref="Safetensors.Save"/>.
/// </summary>
public static class TrainingCheckpoint
{
    private const string PositionKey = "meddistill.position";

    public static void Save(string path, nn.Module model, nn.Module? method, Optimizer optimizer, LRScheduler? scheduler, TrainingPosition position)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        Add(tensors, "model.", model.state_dict());
        if (method is not null) Add(tensors, "method.", method.state_dict());
        Add(tensors, "optimizer.", optimizer.state_dict());
        if (scheduler is not null) Add(tensors, "scheduler.", scheduler.state_dict());
        Safetensors.Save(path, tensors, new Dictionary<string, string>
        {
            [PositionKey] = JsonSerializer.Serialize(position, Json),
            ["format"] = "meddistill-checkpoint/1",
        });
    }

    /// <summary>Restores every state from <paramref name="path"/> and returns the position; throws naming the file when it does not fit.</summary>
    public static TrainingPosition Load(string path, nn.Module model, nn.Module? method, Optimizer optimizer, LRScheduler? scheduler, string runId)
    {
        var metadata = Safetensors.ReadMetadata(path);
        if (!metadata.TryGetValue(PositionKey, out var json))
            throw new InvalidDataException($"{path}: not a training checkpoint (no {PositionKey} metadata)");
        var position = JsonSerializer.Deserialize<TrainingPosition>(json, Json)
                       ?? throw new InvalidDataException($"{path}: empty {PositionKey}");
        if (position.RunId != runId)
            throw new InvalidDataException($"{path}: checkpoint of run {position.RunId}, not {runId}");
        using var scope = torch.NewDisposeScope();
        var all = Safetensors.Load(path);
        try
        {
            model.load_state_dict(Part(all, "model."));
            if (method is not null) method.load_state_dict(Part(all, "method."));
            optimizer.load_state_dict(Part(all, "optimizer."));
            scheduler?.load_state_dict(Part(all, "scheduler."));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: does not fit this run's model or optimiser: {e.Message}");
        }
        return position;
    }

    /// <summary>Weights only (<c>model.*</c> without the prefix), as in model.safetensors and best.safetensors.</summary>
    public static void SaveWeights(string path, nn.Module model, IReadOnlyDictionary<string, string> metadata)
    {
        using var scope = torch.NewDisposeScope();
        Safetensors.Save(path, model.state_dict(), metadata);
    }

    public static void LoadWeights(string path, nn.Module model)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file {path} does not exist", path);
        using var scope = torch.NewDisposeScope();
        try { model.load_state_dict(Safetensors.Load(path)); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: does not fit the model: {e.Message}"); }
    }

    private static void Add(Dictionary<string, Tensor> into, string prefix, Dictionary<string, Tensor> from)
    {
        foreach (var (k, v) in from) into[prefix + k] = v;
    }

    private static Dictionary<string, Tensor> Part(Dictionary<string, Tensor> all, string prefix) =>
        all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    internal static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
