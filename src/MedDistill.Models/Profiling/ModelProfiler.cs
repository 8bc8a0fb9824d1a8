using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Models.Profiling;

/// <summary>
/// Counts a network's parameters and FLOPs by running one forward pass on a 1×C×H×W input (eval mode, no_grad, inside a
/// dispose scope) with forward hooks on every costed layer, which record shapes and add up each call's cost.
/// <para>
/// Only layers called through <c>call</c> are seen (that is what fires hooks, as in PyTorch); a network that calls
/// <c>forward</c> of a child directly hides that child's work, exactly as it would from ptflops.
/// </para>
/// </summary>
public static class ModelProfiler
{
    /// <summary>Profiles a zoo network at its own input channels and an H×W image.</summary>
    public static ModelCost Profile(SegmentationModel model, long height, long width) =>
        Profile(model, model.Name, model.InChannels, height, width);

    /// <summary>Profiles any one-input module (the batch is 1; ptflops divides by the batch, so this is per image).</summary>
    public static ModelCost Profile(nn.Module<Tensor, Tensor> model, string name, long channels, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentException($"{name}: input shape must be positive, got {channels}×{height}×{width}");

        var modules = model.named_modules().ToList();
        var records = new Dictionary<nn.Module, LayerRecord>(ReferenceEqualityComparer.Instance);
        var hooks = new List<IDisposable>();
        bool wasTraining = model.training;
        try
        {
            foreach (var (path, module) in modules)
            {
                if (!IsCosted(module)) continue;
                var record = new LayerRecord(path, module);
                records[module] = record;
                hooks.Add(Attach(module, record));
            }

            model.eval();
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                // As ptflops: the input takes the first parameter's dtype and device.
                var first = model.parameters().FirstOrDefault();
                var input = zeros([1, channels, height, width], first?.dtype, first?.device);
                model.call(input);
            }
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.train(wasTraining);
        }

        var registrations = new Dictionary<nn.Module, int>(ReferenceEqualityComparer.Instance);
        CountRegistrations(model, registrations, new HashSet<nn.Module>(ReferenceEqualityComparer.Instance));

        var layers = records.Values.Select(r => r.ToCost(registrations.GetValueOrDefault(r.Module))).ToList();
        PaperMacs paper = default;
        long repeated = 0;
        foreach (var layer in layers)
        {
            paper += layer.Registrations * layer.PaperMacs;
            if (layer.Registrations > 1) repeated += (layer.Registrations - 1) * layer.PaperMacs.Total;
        }

        return new ModelCost(
            name,
            [1, channels, height, width],
            model.parameter_count(),
            model.parameter_count(only_trainable: true),
            ParametersByChild(model),
            layers.Sum(l => l.TrueMacs),
            paper,
            repeated,
            layers);
    }

    // Costed in either convention: ptflops' exact-type table covers every type that has true MACs too.
    private static bool IsCosted(nn.Module module) => CostRules.PaperKind(module) is not null;

    private static IDisposable Attach(nn.Module module, LayerRecord record) => module switch
    {
        nn.Module<Tensor, Tensor> single => single.register_forward_hook((_, input, output) => record.Add(input.shape, output.shape)),
        nn.Module<Tensor, (Tensor output, Tensor indices)> pool =>
            pool.register_forward_hook((_, input, output) => record.Add(input.shape, output.output.shape)),
        _ => throw new NotSupportedException($"no forward hook for {module.GetType().Name}"),
    };

    /// <summary>
    /// ptflops' total: a module with a rule contributes its own count; any other module the sum of its children
    /// (<c>children()</c>, de-duplicated within one parent only), so a module reached along two paths counts twice.
    /// </summary>
    private static void CountRegistrations(nn.Module module, Dictionary<nn.Module, int> counts, HashSet<nn.Module> onPath)
    {
        if (CostRules.PaperKind(module) is not null)
        {
            counts[module] = counts.GetValueOrDefault(module) + 1;
            return;
        }
        if (!onPath.Add(module))
            throw new InvalidOperationException($"{module.GetName()} is registered inside itself; the module tree has a cycle");
        foreach (var child in module.children()) CountRegistrations(child, counts, onPath);
        onPath.Remove(module);
    }

    private static List<ChildParameters> ParametersByChild(nn.Module model)
    {
        var rows = model.named_children()
            .Select(c => new ChildParameters(c.name, c.module.GetName(), c.module.parameter_count()))
            .ToList();
        long own = model.named_parameters(recurse: false).Sum(p => p.parameter.numel());
        if (own > 0) rows.Insert(0, new ChildParameters("(own)", model.GetName(), own));
        return rows;
    }

    private sealed class LayerRecord(string path, nn.Module module)
    {
        public nn.Module Module { get; } = module;
        private int calls;
        private long[] input = [];
        private long[] output = [];
        private long trueMacs;
        private PaperMacs paper;

        public void Add(long[] inputShape, long[] outputShape)
        {
            if (calls == 0) (input, output) = (inputShape, outputShape);
            calls++;
            trueMacs += CostRules.TrueMacs(Module, inputShape, outputShape);
            paper += CostRules.PaperMacs(Module, inputShape, outputShape);
        }

        public LayerCost ToCost(int registrations) => new(
            path, Module.GetType().Name, CostRules.PaperKind(Module)!.Value,
            Module.named_parameters(recurse: false).Sum(p => p.parameter.numel()),
            calls, registrations, input, output, trueMacs, paper);
    }
}
