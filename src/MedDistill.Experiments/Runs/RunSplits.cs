using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;

namespace MedDistill.Experiments.Runs;

/// <summary>
/// The split protocols a run spec can name (<c>data.split.protocol</c>):
/// <list type="bullet">
/// <item><c>loso</c> — leave-one-site-out; <c>target</c> is the test site (S1..S6 or a site name).</item>
/// <item><c>lists</c> — the data set's own list files, as the cache index stored them at preprocessing (Synapse's
/// lists_Synapse/train.txt and test_vol.txt, FLARE's train.txt/test.txt). <c>target</c> must be <c>test</c>: the stored
/// test list, whatever its file was called. It is not ignored, because the target is part of the spec and so of the run
/// id: accepting any value would give one experiment many ids.</item>
/// <item><c>source</c> — GKD's domain generalisation: train on one source domain, test on it and on unseen target
/// domains. <c>target</c> names the source site (<c>CHASE_DB1</c>, <c>CHAOS</c>); training is the cache's stored train list
/// restricted to that site, test the whole stored test list (the source's held-out cases and every target domain's).
/// The lists are the layout's (<see cref="FundusLayout"/>, <see cref="LiverLayout"/>).</item>
/// </list>
/// In all three, <c>validationFraction</c> and <c>seed</c> hold out training cases for model selection.
/// </summary>
public static class RunSplits
{
    public const string Loso = "loso", Lists = "lists", Source = "source";
    public static readonly string[] Protocols = [Loso, Lists, Source];

    /// <summary>The only <c>target</c> of the lists protocol: the role of the data set's test list.</summary>
    public const string ListsTarget = DataSplit.Test;

    /// <summary>The split of <paramref name="cache"/> under <paramref name="sp"/>; failures name the spec field at fault.</summary>
    public static DataSplit Build(SplitSpec sp, CacheIndex cache, string cacheDir)
    {
        DataSplit split;
        switch (sp.Protocol)
        {
            case Loso:
                try
                {
                    split = Splitter.LeaveOneSiteOut(cache.Cases.Select(c => new CaseRef(c.Id, c.Site)), sp.Target, SiteMapping.Default, sp.ValidationFraction, sp.Seed);
                }
                catch (ArgumentException e) { throw new ArgumentException($"data.split: {e.Message}"); }
                break;
            case Lists:
                if (cache.Lists is null)
                    throw new ArgumentException($"data.split.protocol: 'lists' needs the data set's list files, but the cache of '{cache.Dataset}' at {cacheDir} has none " +
                                                "(its layout ships no train/test lists, or it was preprocessed before lists were stored: rerun meddistill data preprocess)");
                if (sp.Target != ListsTarget)
                    throw new ArgumentException($"data.split.target: '{sp.Target}' is not '{ListsTarget}'; with protocol lists the test cases are the data set's test list, so the target is '{ListsTarget}'");
                try
                {
                    split = Splitter.FromLists(cache.Cases.Select(c => new CaseRef(c.Id, c.Site)), cache.Lists, cache.Dataset, sp.ValidationFraction, sp.Seed);
                }
                catch (ArgumentException e) { throw new ArgumentException($"data.split: {e.Message} (cache {cacheDir})"); }
                break;
            case Source:
                split = SourceDomain(sp, cache, cacheDir);
                break;
            default:
                throw new ArgumentException($"data.split.protocol: '{sp.Protocol}' is not known ({Loso} = leave-one-site-out, {Lists} = the data set's own train/test lists, " +
                                            $"{Source} = train on one source site, test on every site's test list)");
        }
        if (split[DataSplit.Train].Count == 0) throw new ArgumentException("data.split: leaves no training cases");
        return split;
    }

    private static DataSplit SourceDomain(SplitSpec sp, CacheIndex cache, string cacheDir)
    {
        if (cache.Lists is null)
            throw new ArgumentException($"data.split.protocol: 'source' needs the data set's train/test lists, but the cache of '{cache.Dataset}' at {cacheDir} has none " +
                                        "(its layout defines no lists, or it was preprocessed before lists were stored: rerun meddistill data preprocess)");
        var sites = cache.Cases.Select(c => c.Site).Distinct(StringComparer.Ordinal).ToList();
        if (!sites.Contains(sp.Target, StringComparer.Ordinal))
            throw new ArgumentException($"data.split.target: '{sp.Target}' is not a site of '{cache.Dataset}' (sites: {string.Join(", ", sites)})");
        var siteOf = cache.Cases.ToDictionary(c => c.Id, c => c.Site, StringComparer.Ordinal);
        IReadOnlyList<string> Role(string role) => cache.Lists.TryGetValue(role, out var ids) ? ids : [];
        // A listed id the cache lacks is left for FromLists to name.
        var train = Role(DataSplit.Train).Where(id => !siteOf.TryGetValue(id, out var site) || site == sp.Target).ToList();
        if (!train.Any(siteOf.ContainsKey))
            throw new ArgumentException($"data.split.target: source site '{sp.Target}' has no cases in the train list of '{cache.Dataset}' (cache {cacheDir})");
        var lists = new Dictionary<string, IReadOnlyList<string>> { [DataSplit.Train] = train, [DataSplit.Test] = Role(DataSplit.Test) };
        DataSplit split;
        try
        {
            split = Splitter.FromLists(cache.Cases.Select(c => new CaseRef(c.Id, c.Site)), lists, cache.Dataset, sp.ValidationFraction, sp.Seed);
        }
        catch (ArgumentException e) { throw new ArgumentException($"data.split: {e.Message} (cache {cacheDir})"); }
        var testSites = split[DataSplit.Test].Select(id => siteOf[id]).Distinct(StringComparer.Ordinal);
        return split with
        {
            Name = $"source-{sp.Target}",
            Description = $"source domain {sp.Target}: its {split[DataSplit.Train].Count + split[DataSplit.Validation].Count} listed training cases " +
                          $"({split[DataSplit.Validation].Count} held out for validation); test = the {split[DataSplit.Test].Count} listed test cases of {string.Join(", ", testSites)}",
        };
    }

    /// <summary>Whether two runs under <paramref name="protocol"/> test on the same cases (a teacher must not have trained on the student's test cases).</summary>
    public static bool SameTarget(string protocol, string a, string b) =>
        protocol == Loso ? SiteMapping.Default.Resolve(a) == SiteMapping.Default.Resolve(b) : a == b;
}
