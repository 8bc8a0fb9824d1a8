namespace MedDistill.Torch.Optim;

/// <summary>
/// Base of the learning-rate schedulers. As in PyTorch, constructing one records each group's initial_lr (if no
/// scheduler did yet) and applies the schedule for epoch 0; each <see cref="step"/> advances
/// <see cref="last_epoch"/> by one and writes the new rates into the optimizer's groups.
/// The schedules here are closed forms of last_epoch, so a resumed run reproduces the same rates exactly.
/// To resume, restore both the optimizer's and the scheduler's state_dict.
/// </summary>
public abstract class LRScheduler
{
    private double[] baseLrs;
    private double[] lastLr = [];

    /// <param name="baseLrs">The rates the schedule scales from; null: each group's initial_lr.</param>
    protected LRScheduler(Optimizer optimizer, double[]? baseLrs = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        foreach (var g in optimizer.ParamGroups) g.InitialLearningRate ??= g.LearningRate;
        this.baseLrs = baseLrs ?? optimizer.ParamGroups.Select(g => g.InitialLearningRate!.Value).ToArray();
        last_epoch = -1;
    }

    public Optimizer Optimizer { get; }

    /// <summary>The number of steps taken; 0 right after construction.</summary>
    public long last_epoch { get; private set; }

    public IReadOnlyList<double> base_lrs => baseLrs;

    /// <summary>The rates the last step (or the construction) set, one per group.</summary>
    public IReadOnlyList<double> get_last_lr() => lastLr.ToArray();

    /// <summary>The rate of every group at <see cref="last_epoch"/>. May also adjust other options (momentum).</summary>
    protected abstract double[] ComputeLearningRates();

    /// <summary>Subclasses call this at the end of their constructor, as PyTorch's _initial_step.</summary>
    protected void InitialStep() => step();

    public void step()
    {
        last_epoch++;
        var lrs = ComputeLearningRates();
        var groups = Optimizer.ParamGroups;
        if (lrs.Length != groups.Count)
            throw new InvalidOperationException($"the optimizer has {groups.Count} parameter groups but the scheduler was built for {lrs.Length}");
        for (int i = 0; i < lrs.Length; i++) groups[i].LearningRate = lrs[i];
        lastLr = lrs;
    }

    /// <summary>
    /// The scheduler's position and hyper-parameters, as 0-dim tensors (last_epoch int64, the rest float64):
    /// last_epoch, base_lrs.{i}, last_lr.{i}, and subclass entries.
    /// </summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var values = new Dictionary<string, double>();
        SaveState(values);
        var result = new Dictionary<string, Tensor> { ["last_epoch"] = torch.full([], last_epoch, ScalarType.Int64) };
        for (int i = 0; i < baseLrs.Length; i++) result[$"base_lrs.{i}"] = torch.scalar_tensor(baseLrs[i], ScalarType.Float64);
        for (int i = 0; i < lastLr.Length; i++) result[$"last_lr.{i}"] = torch.scalar_tensor(lastLr[i], ScalarType.Float64);
        foreach (var (k, v) in values) result[k] = torch.scalar_tensor(v, ScalarType.Float64);
        return result;
    }

    /// <summary>Restores what <see cref="state_dict"/> produced. The optimizer's rates are restored by its own state_dict.</summary>
    public void load_state_dict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        if (!stateDict.TryGetValue("last_epoch", out var epoch))
            throw new ArgumentException("state_dict has no 'last_epoch'; it was not saved from a learning-rate scheduler", nameof(stateDict));
        int n = Optimizer.ParamGroups.Count;
        var bases = ReadList(stateDict, "base_lrs", n);
        var last = ReadList(stateDict, "last_lr", n);
        var values = new Dictionary<string, double>();
        foreach (var (k, v) in stateDict)
            if (k != "last_epoch" && !k.StartsWith("base_lrs.", StringComparison.Ordinal) && !k.StartsWith("last_lr.", StringComparison.Ordinal))
                values[k] = v.item<double>();
        LoadState(values);
        baseLrs = bases;
        lastLr = last;
        last_epoch = epoch.item<long>();
    }

    private static double[] ReadList(IReadOnlyDictionary<string, Tensor> dict, string prefix, int n)
    {
        var result = new double[n];
        for (int i = 0; i < n; i++)
            result[i] = dict.TryGetValue($"{prefix}.{i}", out var t) ? t.item<double>()
                : throw new ArgumentException($"state_dict has no '{prefix}.{i}'; it was saved for an optimizer with a different number of parameter groups", nameof(dict));
        if (dict.ContainsKey($"{prefix}.{n}"))
            throw new ArgumentException($"state_dict has more '{prefix}' entries than this optimizer's {n} parameter groups", nameof(dict));
        return result;
    }

    /// <summary>Adds the subclass's hyper-parameters (numbers) to a state dict.</summary>
    protected virtual void SaveState(IDictionary<string, double> values) { }

    /// <summary>Reads back what <see cref="SaveState"/> wrote; throws ArgumentException for missing or unknown entries.</summary>
    protected virtual void LoadState(IReadOnlyDictionary<string, double> values)
    {
        if (values.Count > 0) throw new ArgumentException($"unknown scheduler state entries: {string.Join(", ", values.Keys)}");
    }

    /// <summary>Reads a subclass entry, with a clear message when it is missing.</summary>
    protected static double Require(IReadOnlyDictionary<string, double> values, string key) =>
        values.TryGetValue(key, out var v) ? v : throw new ArgumentException($"scheduler state_dict has no '{key}'; it was saved from a different scheduler");

    /// <summary>Checks that every entry is one of <paramref name="known"/> (exact names or "prefix." lists).</summary>
    protected static void RejectUnknown(IReadOnlyDictionary<string, double> values, params string[] known)
    {
        var unknown = values.Keys.Where(k => !known.Any(n => n.EndsWith('.') ? k.StartsWith(n, StringComparison.Ordinal) : k == n)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"unknown scheduler state entries: {string.Join(", ", unknown)}; it was saved from a different scheduler");
    }
}
