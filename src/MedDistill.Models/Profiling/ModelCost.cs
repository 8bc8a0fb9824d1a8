namespace MedDistill.Models.Profiling;

/// <summary>Parameters of one top-level child of a network (or "(own)" for the root's direct parameters).</summary>
public sealed record ChildParameters(string Name, string Type, long Parameters);

/// <summary>
/// One costed layer: every call of it during the profiling forward pass, summed.
/// </summary>
/// <param name="Path">Dotted name of its first registration (as <c>named_modules</c> lists it).</param>
/// <param name="Calls">How many times the forward pass called it (0: built but unused, e.g. a dropped classifier).</param>
/// <param name="Registrations">
/// How many times ptflops' sum reaches it: once per path through the children of modules it has no rule for. A module
/// registered under two parents is counted twice there, although it runs once per call.
/// </param>
/// <param name="InputShape">Input shape of its first call (empty when never called).</param>
/// <param name="OutputShape">Output shape of its first call (empty when never called).</param>
/// <param name="TrueMacs">True multiply-accumulates over all calls.</param>
/// <param name="PaperMacs">ptflops' count over all calls, for ONE registration.</param>
public sealed record LayerCost(
    string Path,
    string Type,
    LayerKind Kind,
    long Parameters,
    int Calls,
    int Registrations,
    long[] InputShape,
    long[] OutputShape,
    long TrueMacs,
    PaperMacs PaperMacs);

/// <summary>
/// Parameters and FLOPs of one network for one input shape. Everything here follows from the layers' shapes; nothing
/// depends on weights, data or seeds.
/// </summary>
/// <param name="InputShape">(N, C, H, W) of the profiling forward pass; N is 1.</param>
/// <param name="Parameters">All parameter elements, shared parameters once.</param>
/// <param name="TrainableParameters">Those with requires_grad (what ptflops reports as params).</param>
/// <param name="TrueMacs">True multiply-accumulates of the convolutions and Linear layers that ran.</param>
/// <param name="PaperMacs">ptflops' count, registrations included, split by term.</param>
/// <param name="RepeatedRegistrationMacs">The part of <see cref="PaperMacs"/> that comes from modules counted more than once.</param>
public sealed record ModelCost(
    string Model,
    long[] InputShape,
    long Parameters,
    long TrainableParameters,
    IReadOnlyList<ChildParameters> ParametersByChild,
    long TrueMacs,
    PaperMacs PaperMacs,
    long RepeatedRegistrationMacs,
    IReadOnlyList<LayerCost> Layers)
{
    /// <summary>True GMACs (10⁹ multiply-accumulates).</summary>
    public double GmacsTrue => TrueMacs / 1e9;

    /// <summary>ptflops' "GMac" figure.</summary>
    public double PaperGmac => PaperMacs.Total / 1e9;

    /// <summary>The Affinity-KD paper's "FLOPs (G)": twice ptflops' GMac.</summary>
    public double GflopsPaperConvention => 2.0 * PaperMacs.Total / 1e9;

    /// <summary>Costed layers that the forward pass never called; their parameters still count.</summary>
    public IEnumerable<LayerCost> NotRun => Layers.Where(l => l.Calls == 0);

    /// <summary>
    /// <see cref="NotRun"/> gathered into the largest sub-trees of which no costed layer ran (e.g. a whole skipped
    /// block rather than its nine layers), in layer order, with their layers' parameters.
    /// </summary>
    public IReadOnlyList<(string Path, int Layers, long Parameters)> NotRunParts()
    {
        var parts = new List<(string Path, int Layers, long Parameters)>();
        foreach (var layer in NotRun)
        {
            var names = layer.Path.Split('.');
            string part = layer.Path;
            for (int depth = 1; depth <= names.Length; depth++)
            {
                string prefix = string.Join('.', names.Take(depth));
                var under = Layers.Where(l => l.Path == prefix || l.Path.StartsWith(prefix + ".", StringComparison.Ordinal)).ToList();
                if (under.All(l => l.Calls == 0)) { part = prefix; break; }
            }
            int i = parts.FindIndex(p => p.Path == part);
            if (i < 0) parts.Add((part, 1, layer.Parameters));
            else parts[i] = (part, parts[i].Layers + 1, parts[i].Parameters + layer.Parameters);
        }
        return parts;
    }
}
