namespace MedDistill.Data.Manifest;

/// <summary>Who may download a file, and so whether <c>meddistill data fetch</c> can get it unattended.</summary>
public enum Access
{
    /// <summary>Anyone, no account: fetched automatically.</summary>
    Open,
    /// <summary>Needs an account on the host (Synapse, grand-challenge, CodaLab): fetched by hand, then imported.</summary>
    Login,
    /// <summary>Needs a request, a data-use agreement or a dedicated client (TCIA's NBIA retriever): by hand, then imported.</summary>
    Request,
    /// <summary>A Kaggle dataset: needs a Kaggle account and API token (kaggle CLI), then imported.</summary>
    Kaggle,
}

/// <summary>Where a manifest checksum came from; decides how much trust a match carries.</summary>
public enum ChecksumSource
{
    /// <summary>Published by the data host (e.g. Zenodo's md5 for each file).</summary>
    Publisher,
    /// <summary>Taken from a public loader's source code (MONAI, torch-em, ...): third-party, but already checked by others.</summary>
    LoaderCode,
    /// <summary>No published value: the first download's sha256 is recorded in the pins file and should be copied here.</summary>
    PinnedAtFirstDownload,
    /// <summary>No checksum known and none will be pinned (nothing to verify against).</summary>
    None,
}

/// <summary>One downloadable file of one dataset: a row of <c>data-manifest.csv</c>.</summary>
/// <param name="Line">Line of the manifest the row starts on (for error messages).</param>
public sealed record ManifestEntry(
    string Dataset,
    string Part,
    string File,
    Uri Url,
    Checksum? Checksum,
    ChecksumSource ChecksumSource,
    long? Bytes,
    string License,
    Access Access,
    string Format,
    string UsedBy,
    string Notes,
    int Line)
{
    /// <summary>
    /// Formats whose files are pieces of one archive (<c>tar.gz-parts</c>): the host lists the parts, we do not know their exact
    /// names, so the row stands for the whole archive and is imported from the parts the user downloaded.
    /// </summary>
    public bool IsSplitParts => Format.EndsWith("-parts", StringComparison.Ordinal);

    /// <summary>
    /// Downloaded unattended by <c>data fetch</c>: open access and a URL that serves the file itself. Split parts are open but
    /// listed only on a record page, so they are downloaded by hand.
    /// </summary>
    public bool IsAutomatic => Access == Access.Open && !IsSplitParts;

    /// <summary>Path of the verified file under <paramref name="dataDir"/>: <c>&lt;data-dir&gt;/&lt;dataset&gt;/&lt;file&gt;</c>.</summary>
    public string LocalPath(string dataDir) => Path.Combine(dataDir, Dataset, File);
}
