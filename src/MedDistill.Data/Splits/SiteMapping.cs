namespace MedDistill.Data.Splits;

/// <summary>
/// Which real site each paper column S1..Sn stands for. The Affinity-KD paper only says S1–S3 come from NCI-ISBI 2013 and
/// I2CVB and S4–S6 from PROMISE12; the default S1 RUNMC, S2 BMC, S3 I2CVB, S4 UCL, S5 BIDMC, S6 HK is the consistent choice
/// recorded in the notes (unconfirmed by the authors), configurable here.
/// </summary>
public sealed record SiteMapping(IReadOnlyList<string> Sites)
{
    public static SiteMapping Default { get; } = new(["RUNMC", "BMC", "I2CVB", "UCL", "BIDMC", "HK"]);

    /// <summary>The site of column label "S3" (1-based), or a site name given directly (case-insensitive).</summary>
    public string Resolve(string siteOrColumn)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(siteOrColumn);
        if (siteOrColumn.Length >= 2 && (siteOrColumn[0] is 'S' or 's') && int.TryParse(siteOrColumn.AsSpan(1), out int n))
        {
            if (n < 1 || n > Sites.Count) throw new ArgumentException($"site column {siteOrColumn}: the mapping has S1..S{Sites.Count}");
            return Sites[n - 1];
        }
        var match = Sites.FirstOrDefault(s => string.Equals(s, siteOrColumn, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new ArgumentException($"unknown site {siteOrColumn}: expected one of {string.Join(", ", Sites)} or S1..S{Sites.Count}");
    }

    /// <summary>Column label ("S1".."Sn") of a site.</summary>
    public string ColumnOf(string site)
    {
        for (int i = 0; i < Sites.Count; i++)
            if (string.Equals(Sites[i], site, StringComparison.OrdinalIgnoreCase)) return $"S{i + 1}";
        throw new ArgumentException($"site {site} is not in the mapping ({string.Join(", ", Sites)})");
    }

    /// <summary>Parses "RUNMC,BMC,…" (S1 first).</summary>
    public static SiteMapping Parse(string list)
    {
        var sites = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (sites.Length == 0) throw new ArgumentException("site mapping: empty list");
        var dup = sites.GroupBy(s => s, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"site mapping: {dup.Key} appears twice");
        return new SiteMapping(sites);
    }
}
