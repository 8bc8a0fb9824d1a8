using MedDistill.Torch;

namespace MedDistill.Distillation;

/// <summary>
/// One named part of a training objective: its weight in the total and its unweighted scalar value (a 0-dim tensor that keeps
/// its autograd history and belongs to the caller's dispose scope). Names are short and stable because logs and tables key on
/// them: <c>dice</c>, <c>focal</c>, <c>lm</c>, <c>kmm</c>, <c>aam</c>, <c>pmd</c>, <c>imd</c>, <c>rad</c>,
/// <c>ffd</c>, <c>rgd</c>, <c>aux</c>, <c>cw</c>, <c>frm</c>, <c>at</c>, <c>intra</c>, <c>inter</c>, <c>cross</c>, <c>act</c>; the baselines' <c>kd</c>, <c>at</c>, <c>pi</c>,
/// <c>pa</c>, <c>cwd</c>, <c>ce</c>, <c>kl</c>, <c>hint</c>, <c>fsp</c>, <c>ifvd</c>.
/// </summary>
public sealed record LossTerm(string Name, double Weight, Tensor Value);

/// <summary>Helpers for lists of <see cref="LossTerm"/>.</summary>
public static class LossTerms
{
    /// <summary>
    /// The objective Σ Weight·Value over <paramref name="terms"/> (a new 0-dim tensor in the caller's dispose scope). The
    /// trainer concatenates the segmentation terms and the distillation method's terms and backpropagates this.
    /// </summary>
    public static Tensor Total(IEnumerable<LossTerm> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        Tensor? total = null;
        foreach (var term in terms)
        {
            var weighted = term.Value.mul(term.Weight);
            total = total is null ? weighted : total.add(weighted);
        }
        return total ?? throw new ArgumentException("the loss has no terms", nameof(terms));
    }
}
