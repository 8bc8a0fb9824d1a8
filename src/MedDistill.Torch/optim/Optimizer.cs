using System.Globalization;

namespace MedDistill.Torch.Optim;

/// <summary>
/// Base of the optimizers: owns the parameter groups and the per-parameter state (step count and buffers such
/// as momentum or Adam's moments). Subclasses implement <see cref="Update"/> for one parameter.
/// State buffers are owned by the optimizer (never by a dispose scope); dispose the optimizer to free them.
/// </summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>Per-parameter state: the number of updates applied and named buffers.</summary>
    protected sealed class ParamState
    {
        public long Step;
        public readonly Dictionary<string, Tensor> Buffers = new();

        public bool TryGet(string name, out Tensor buffer) => Buffers.TryGetValue(name, out buffer!);

        /// <summary>Stores a buffer the optimizer now owns, taking it out of any dispose scope.</summary>
        public Tensor Set(string name, Tensor buffer)
        {
            if (Buffers.TryGetValue(name, out var old) && !ReferenceEquals(old, buffer)) old.Dispose();
            Buffers[name] = buffer.DetachFromDisposeScope();
            return buffer;
        }

        public void Clear()
        {
            foreach (var b in Buffers.Values) b.Dispose();
            Buffers.Clear();
            Step = 0;
        }
    }

    private readonly List<ParamGroup> groups = new();
    private readonly Dictionary<string, double> defaults;
    // Keyed by the parameter object itself: the same managed Tensor is what the groups hold.
    private readonly Dictionary<Tensor, ParamState> state = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    protected Optimizer(IEnumerable<ParamGroup> parameterGroups, IReadOnlyDictionary<string, double> defaults)
    {
        ArgumentNullException.ThrowIfNull(parameterGroups);
        this.defaults = new Dictionary<string, double>(defaults);
        var list = parameterGroups.ToList();
        if (list.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(parameterGroups));
        foreach (var g in list) add_param_group(g);
    }

    public IReadOnlyList<ParamGroup> ParamGroups => groups;

    /// <summary>The options every group starts from (PyTorch's optimizer.defaults).</summary>
    public IReadOnlyDictionary<string, double> Defaults => defaults;

    /// <summary>Adds a group; options it does not set come from <see cref="Defaults"/>.</summary>
    public void add_param_group(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        ThrowIfDisposed();
        if (groups.Any(g => ReferenceEquals(g, group))) throw new ArgumentException("this parameter group was already added", nameof(group));
        if (group.Parameters.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(group));
        foreach (var name in group.Options.Keys)
            if (!defaults.ContainsKey(name))
                throw new ArgumentException($"{GetType().Name} has no option '{name}' (it has: {string.Join(", ", defaults.Keys)})", nameof(group));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in group.Parameters)
        {
            if (!p.is_leaf) throw new ArgumentException("can't optimize a non-leaf Tensor", nameof(group));
            if (!seen.Add(p)) throw new ArgumentException("a parameter appears twice in one parameter group", nameof(group));
            if (groups.Any(g => g.Parameters.Any(q => ReferenceEquals(q, p))))
                throw new ArgumentException("some parameters appear in more than one parameter group", nameof(group));
        }
        foreach (var (name, value) in defaults) group.SetDefault(name, value);
        Validate(group);
        groups.Add(group);
    }

    /// <summary>Checks a group's options (ranges, incompatible combinations); throws ArgumentException.</summary>
    protected virtual void Validate(ParamGroup group)
    {
        if (!group.HasOption("lr")) throw new ArgumentException($"{GetType().Name} defines no 'lr' option");
        if (!(group.LearningRate >= 0)) throw new ArgumentOutOfRangeException("lr", group.LearningRate, "Invalid learning rate");
        if (group.HasOption("weight_decay") && !(group.WeightDecay >= 0)) throw new ArgumentOutOfRangeException("weight_decay", group.WeightDecay, "Invalid weight_decay value");
    }

    /// <summary>Applies one update to <paramref name="param"/>; runs under no_grad inside a dispose scope.</summary>
    protected abstract void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state);

    /// <summary>One optimisation step over every parameter that has a gradient.</summary>
    public void step()
    {
        ThrowIfDisposed();
        using var noGrad = torch.no_grad();
        foreach (var group in groups)
        {
            foreach (var p in group.Parameters)
            {
                // Per parameter, so temporaries of a large model never pile up.
                using var scope = torch.NewDisposeScope();
                var grad = p.grad;
                if (grad is null) continue;
                if (!state.TryGetValue(p, out var st)) state[p] = st = new ParamState();
                Update(group, p, grad, st);
            }
        }
    }

    /// <summary>Re-evaluates the loss with <paramref name="closure"/> (gradients enabled), then steps; returns the loss.</summary>
    public Tensor step(Func<Tensor> closure)
    {
        ArgumentNullException.ThrowIfNull(closure);
        Tensor loss;
        using (torch.enable_grad()) loss = closure();
        step();
        return loss;
    }

    /// <summary>Drops the gradients (set_to_none, PyTorch's default) or zeroes them in place.</summary>
    public void zero_grad(bool set_to_none = true)
    {
        ThrowIfDisposed();
        foreach (var group in groups)
        {
            foreach (var p in group.Parameters)
            {
                using var scope = torch.NewDisposeScope();
                var g = p.grad;
                if (g is null) continue;
                if (set_to_none)
                {
                    p.grad = null;
                    continue;
                }
                // A gradient built with create_graph has history; cut it before zeroing in place, as PyTorch does.
                if (!g.is_leaf) g.detach_();
                else if (g.requires_grad) g.requires_grad_(false);
                using var noGrad = torch.no_grad();
                g.zero_();
            }
        }
    }

    // ---- state_dict
    // Layout (every value a tensor, so a checkpoint can store it beside model weights):
    //   param_groups.{g}.{option}   0-dim float64   (every option, plus initial_lr once a scheduler set it)
    //   param_groups.{g}.num_params 0-dim int64
    //   state.{g}.{i}.step          0-dim int64     (only for parameters that have been updated)
    //   state.{g}.{i}.{buffer}      copy of the buffer

    /// <summary>A snapshot (copies) of the hyper-parameters and all per-parameter state.</summary>
    public Dictionary<string, Tensor> state_dict()
    {
        ThrowIfDisposed();
        var result = new Dictionary<string, Tensor>();
        using var noGrad = torch.no_grad();
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            foreach (var (name, value) in group.Options) result[$"param_groups.{g}.{name}"] = torch.scalar_tensor(value, ScalarType.Float64);
            if (group.InitialLearningRate is double initial) result[$"param_groups.{g}.initial_lr"] = torch.scalar_tensor(initial, ScalarType.Float64);
            result[$"param_groups.{g}.num_params"] = torch.full([], group.Parameters.Count, ScalarType.Int64);
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                if (!state.TryGetValue(group.Parameters[i], out var st)) continue;
                result[$"state.{g}.{i}.step"] = torch.full([], st.Step, ScalarType.Int64);
                foreach (var (name, buffer) in st.Buffers) result[$"state.{g}.{i}.{name}"] = buffer.clone();
            }
        }
        return result;
    }

    /// <summary>
    /// Restores what <see cref="state_dict"/> produced, for an optimizer over the same parameter layout.
    /// Buffers are copied (cast to each parameter's dtype and device), so the dictionary stays the caller's.
    /// </summary>
    public void load_state_dict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ThrowIfDisposed();
        var options = new Dictionary<int, List<(string name, double value)>>();
        var counts = new Dictionary<int, long>();
        var entries = new List<(int g, int i, string name, Tensor value)>();
        foreach (var (key, value) in stateDict)
        {
            var parts = key.Split('.');
            if (parts.Length == 3 && parts[0] == "param_groups" && TryIndex(parts[1], groups.Count, out int g))
            {
                if (parts[2] == "num_params") counts[g] = value.item<long>();
                else
                {
                    if (parts[2] != "initial_lr" && !defaults.ContainsKey(parts[2]))
                        throw new ArgumentException($"state_dict entry '{key}': {GetType().Name} has no option '{parts[2]}'", nameof(stateDict));
                    if (!options.TryGetValue(g, out var list)) options[g] = list = new();
                    list.Add((parts[2], value.item<double>()));
                }
            }
            else if (parts.Length == 4 && parts[0] == "state" && TryIndex(parts[1], groups.Count, out g)
                     && TryIndex(parts[2], groups[g].Parameters.Count, out int i))
                entries.Add((g, i, parts[3], value));
            else
                throw new ArgumentException($"state_dict entry '{key}' does not belong to this optimizer ({groups.Count} parameter groups of sizes {string.Join(", ", groups.Select(x => x.Parameters.Count))})", nameof(stateDict));
        }
        for (int g = 0; g < groups.Count; g++)
        {
            if (!counts.TryGetValue(g, out long n))
                throw new ArgumentException($"state_dict has no parameter group {g}; it was saved from an optimizer with a different number of groups", nameof(stateDict));
            if (n != groups[g].Parameters.Count)
                throw new ArgumentException($"state_dict parameter group {g} has {n} parameters but this optimizer's has {groups[g].Parameters.Count}", nameof(stateDict));
        }
        if (counts.Count != groups.Count)
            throw new ArgumentException($"state_dict has {counts.Count} parameter groups but this optimizer has {groups.Count}", nameof(stateDict));
        foreach (var (g, i, name, value) in entries)
        {
            if (name == "step") continue;
            var p = groups[g].Parameters[i];
            if (!value.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"state_dict buffer 'state.{g}.{i}.{name}' has shape [{string.Join(", ", value.shape)}] but the parameter has [{string.Join(", ", p.shape)}]", nameof(stateDict));
        }

        // Everything checked: now replace.
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            group.InitialLearningRate = null;
            if (!options.TryGetValue(g, out var list)) continue;
            foreach (var (name, value) in list)
            {
                if (name == "initial_lr") group.InitialLearningRate = value;
                else group[name] = value;
            }
        }
        foreach (var st in state.Values) st.Clear();
        state.Clear();
        using var noGrad = torch.no_grad();
        foreach (var (g, i, name, value) in entries)
        {
            var p = groups[g].Parameters[i];
            if (!state.TryGetValue(p, out var st)) state[p] = st = new ParamState();
            if (name == "step") st.Step = value.item<long>();
            else st.Set(name, value.to(p.device, p.dtype, copy: true));
        }
    }

    private static bool TryIndex(string text, int count, out int index) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out index) && index < count;

    /// <summary>The number of updates applied to <paramref name="param"/> so far (0 if none).</summary>
    public long StepCount(Tensor param) => state.TryGetValue(param, out var st) ? st.Step : 0;

    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var st in state.Values) st.Clear();
        state.Clear();
        GC.SuppressFinalize(this);
    }
}
