namespace MedDistill.Torch.Optim;

/// <summary>
/// A set of parameters sharing one learning rate and one set of hyper-parameters, as a PyTorch param group.
/// Options are held by name ("lr", "weight_decay", "momentum", "beta1", ...; booleans as 0/1) so that schedulers
/// and <see cref="Optimizer.state_dict"/> can treat every optimizer alike. Options not given here are filled from
/// the optimizer's defaults when the group is added to it.
/// </summary>
public sealed class ParamGroup
{
    private readonly List<Tensor> parameters;
    private readonly Dictionary<string, double> options = new();

    public ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weight_decay = null,
        double? momentum = null, double? dampening = null, bool? nesterov = null,
        double? beta1 = null, double? beta2 = null, double? eps = null, bool? amsgrad = null, bool? maximize = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        this.parameters = parameters.ToList();
        if (this.parameters.Any(p => p is null)) throw new ArgumentException("a parameter group cannot hold a null tensor", nameof(parameters));
        Put("lr", lr);
        Put("weight_decay", weight_decay);
        Put("momentum", momentum);
        Put("dampening", dampening);
        Put("nesterov", nesterov is null ? null : nesterov.Value ? 1 : 0);
        Put("beta1", beta1);
        Put("beta2", beta2);
        Put("eps", eps);
        Put("amsgrad", amsgrad is null ? null : amsgrad.Value ? 1 : 0);
        Put("maximize", maximize is null ? null : maximize.Value ? 1 : 0);
    }

    private void Put(string name, double? value)
    {
        if (value.HasValue) options[name] = value.Value;
    }

    public IReadOnlyList<Tensor> Parameters => parameters;

    /// <summary>The options by name. Once the group belongs to an optimizer it holds every option that optimizer knows.</summary>
    public IReadOnlyDictionary<string, double> Options => options;

    public bool HasOption(string name) => options.ContainsKey(name);

    /// <summary>
    /// Reads or changes an option. Only options the group already has may be set, so that a misspelt name
    /// (or a momentum set on Adam) fails loudly instead of being silently ignored.
    /// </summary>
    public double this[string name]
    {
        get => options.TryGetValue(name, out var v) ? v
            : throw new KeyNotFoundException($"this parameter group has no option '{name}' (it has: {string.Join(", ", options.Keys)})");
        set
        {
            if (!options.ContainsKey(name))
                throw new ArgumentException($"this parameter group has no option '{name}' (it has: {string.Join(", ", options.Keys)})", nameof(name));
            options[name] = value;
        }
    }

    public double LearningRate
    {
        get => this["lr"];
        set => this["lr"] = value;
    }

    public double WeightDecay
    {
        get => this["weight_decay"];
        set => this["weight_decay"] = value;
    }

    /// <summary>The learning rate schedulers scale from (PyTorch's group["initial_lr"]); set by the first scheduler.</summary>
    public double? InitialLearningRate { get; set; }

    internal bool ContainsOption(string name) => options.ContainsKey(name);
    internal void SetDefault(string name, double value) => options.TryAdd(name, value);
}
