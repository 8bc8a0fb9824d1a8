using System.Text.Json;
using MedDistill.Data.Randomness;

namespace MedDistill.Data.Splits;

/// <summary>A case of a data set as the splitter sees it.</summary>
public sealed record CaseRef(string Id, string Site);

/// <summary>
/// Case ids per role (train, validation, test). Splits are always by case, never by slice, so no patient contributes to two
/// roles. Serialises to JSON for provenance.
/// </summary>
public sealed record DataSplit
{
    public const string Train = "train", Validation = "validation", Test = "test";

    public required string Name { get; init; }

    /// <summary>How the split was made, in words (protocol, target site, seed).</summary>
    public string Description { get; init; } = "";

    /// <summary>Seed of any random choice in the split (within-site validation); null when nothing was random.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Role → case ids, each list in a stable order.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Roles { get; init; }

    public IReadOnlyList<string> this[string role] => Roles.TryGetValue(role, out var ids) ? ids : [];

    /// <summary>Throws, naming the case, when a case is in two roles or twice in one.</summary>
    public void Validate()
    {
        var seen = new Dictionary<string, string>();
        foreach (var (role, ids) in Roles)
            foreach (var id in ids)
                if (!seen.TryAdd(id, role))
                    throw new InvalidDataException($"split {Name}: case {id} is in both {seen[id]} and {role}");
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static DataSplit FromJson(string json)
    {
        var split = JsonSerializer.Deserialize<DataSplit>(json, Json) ?? throw new InvalidDataException("split JSON is empty");
        split.Validate();
        return split;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <summary>The papers' splitting protocols.</summary>
public static class Splitter
{
    /// <summary>
    /// Leave-one-site-out (the Affinity-KD and SAML protocol): every case of <paramref name="target"/> (a site name or
    /// column "S1".."S6" under <paramref name="mapping"/>) is test; the other sites' cases train. With
    /// <paramref name="validationFraction"/> &gt; 0, each training site gives round(fraction × its case count) cases (at
    /// least one, and never all) to validation, chosen by a shuffle seeded from <paramref name="seed"/> and the site name.
    /// </summary>
    public static DataSplit LeaveOneSiteOut(IEnumerable<CaseRef> cases, string target, SiteMapping? mapping = null,
        double validationFraction = 0, ulong seed = 0)
    {
        mapping ??= SiteMapping.Default;
        if (validationFraction is < 0 or >= 1 || double.IsNaN(validationFraction))
            throw new ArgumentException($"validation fraction {validationFraction} must be in [0, 1)");
        var all = cases.ToList();
        var dup = all.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"case {dup.Key} is listed twice");
        var site = mapping.Resolve(target);
        var test = all.Where(c => string.Equals(c.Site, site, StringComparison.OrdinalIgnoreCase)).Select(c => c.Id).Order(StringComparer.Ordinal).ToList();
        if (test.Count == 0) throw new ArgumentException($"target site {site} has no cases (sites present: {string.Join(", ", all.Select(c => c.Site).Distinct())})");
        var train = new List<string>();
        var validation = new List<string>();
        foreach (var group in all.Where(c => !string.Equals(c.Site, site, StringComparison.OrdinalIgnoreCase))
                     .GroupBy(c => c.Site, StringComparer.OrdinalIgnoreCase).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var ids = group.Select(c => c.Id).Order(StringComparer.Ordinal).ToList();
            int take = validationFraction == 0 || ids.Count < 2 ? 0 : Math.Clamp((int)Math.Round(validationFraction * ids.Count), 1, ids.Count - 1);
            var shuffled = ids.ToList();
            Xoshiro256.Derive(seed, Fnv(group.Key.ToUpperInvariant())).Shuffle(shuffled);
            var chosen = shuffled.Take(take).ToHashSet();
            validation.AddRange(ids.Where(chosen.Contains));
            train.AddRange(ids.Where(id => !chosen.Contains(id)));
        }
        var split = new DataSplit
        {
            Name = $"loso-{mapping.ColumnOf(site)}-{site}",
            Description = $"leave-one-site-out: test = all {test.Count} cases of {site} ({mapping.ColumnOf(site)}); train = the other sites" +
                          (validationFraction > 0 ? $", {validationFraction:0.###} of each training site's cases held out for validation" : ""),
            Seed = validationFraction > 0 ? seed : null,
            Roles = new Dictionary<string, IReadOnlyList<string>> { [DataSplit.Train] = train, [DataSplit.Validation] = validation, [DataSplit.Test] = test },
        };
        split.Validate();
        return split;
    }

    /// <summary>
    /// The data set's own split from its list files (protocol <c>lists</c>: Synapse's lists_Synapse, FLARE's
    /// train.txt/test.txt): exactly the listed ids are train and test; cases on disk but in neither list are left out.
    /// With <paramref name="validationFraction"/> &gt; 0, round(fraction × training cases) of them (at least one, never
    /// all) move to validation, chosen by a shuffle seeded from <paramref name="seed"/>, as <see cref="LeaveOneSiteOut"/> does
    /// per site. Fails naming a listed id the data lacks, or one listed in both.
    /// </summary>
    public static DataSplit FromLists(IEnumerable<CaseRef> cases, IReadOnlyDictionary<string, IReadOnlyList<string>> lists, string dataset,
        double validationFraction = 0, ulong seed = 0)
    {
        if (validationFraction is < 0 or >= 1 || double.IsNaN(validationFraction))
            throw new ArgumentException($"validation fraction {validationFraction} must be in [0, 1)");
        var have = cases.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        IReadOnlyList<string> Role(string role) => lists.TryGetValue(role, out var ids) ? ids : [];
        var listedTrain = Role(DataSplit.Train).Distinct(StringComparer.Ordinal).ToList();
        var test = Role(DataSplit.Test).Distinct(StringComparer.Ordinal).ToList();
        var missing = listedTrain.Concat(test).Where(id => !have.Contains(id)).ToList();
        if (missing.Count > 0) throw new ArgumentException($"{dataset}: the list files name {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? $" (and {missing.Count - 5} more)" : "")}, which the data does not have");
        if (listedTrain.Count == 0 || test.Count == 0) throw new ArgumentException($"{dataset}: the list files give {listedTrain.Count} training and {test.Count} test cases; both are needed");
        int take = validationFraction == 0 || listedTrain.Count < 2 ? 0 : Math.Clamp((int)Math.Round(validationFraction * listedTrain.Count), 1, listedTrain.Count - 1);
        var shuffled = listedTrain.Order(StringComparer.Ordinal).ToList();
        Xoshiro256.Derive(seed, Fnv("LISTS:" + dataset.ToUpperInvariant())).Shuffle(shuffled);
        var chosen = shuffled.Take(take).ToHashSet(StringComparer.Ordinal);
        var split = new DataSplit
        {
            Name = $"lists-{dataset}",
            Description = $"the data set's own lists: {listedTrain.Count - take} train, {test.Count} test" +
                          (take > 0 ? $", {take} training cases ({validationFraction:0.###}) held out for validation" : ""),
            Seed = take > 0 ? seed : null,
            Roles = new Dictionary<string, IReadOnlyList<string>>
            {
                [DataSplit.Train] = listedTrain.Where(id => !chosen.Contains(id)).ToList(),
                [DataSplit.Validation] = listedTrain.Where(chosen.Contains).ToList(),
                [DataSplit.Test] = test,
            },
        };
        split.Validate();
        return split;
    }

    /// <summary>TransUNet's Synapse split: 18 training cases (its train_npz slices) and 12 test volumes.</summary>
    public static IReadOnlyList<string> SynapseTrainCases { get; } =
        ["case0005", "case0006", "case0007", "case0009", "case0010", "case0021", "case0023", "case0024", "case0026",
         "case0027", "case0028", "case0030", "case0031", "case0033", "case0034", "case0037", "case0039", "case0040"];

    public static IReadOnlyList<string> SynapseTestCases { get; } =
        ["case0001", "case0002", "case0003", "case0004", "case0008", "case0022", "case0025", "case0029", "case0032", "case0035", "case0036", "case0038"];

    /// <summary>
    /// The fixed TransUNet split of Synapse. With <paramref name="available"/> given, fails naming any listed case that is
    /// missing from the data.
    /// </summary>
    public static DataSplit SynapseTransUnet(IEnumerable<string>? available = null)
    {
        if (available is not null)
        {
            var have = available.ToHashSet(StringComparer.OrdinalIgnoreCase);
            var missing = SynapseTrainCases.Concat(SynapseTestCases).Where(id => !have.Contains(id)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"Synapse split: the data has no {string.Join(", ", missing)}");
        }
        var split = new DataSplit
        {
            Name = "synapse-transunet",
            Description = "TransUNet's Synapse split: 18 training cases, 12 test cases",
            Roles = new Dictionary<string, IReadOnlyList<string>>
            {
                [DataSplit.Train] = SynapseTrainCases, [DataSplit.Validation] = Array.Empty<string>(), [DataSplit.Test] = SynapseTestCases,
            },
        };
        split.Validate();
        return split;
    }

    private static ulong Fnv(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var ch in s) h = (h ^ ch) * 1099511628211UL;
        return h;
    }
}
