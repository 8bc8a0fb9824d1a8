using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Preprocessing;

/// <summary>Progress of a preprocessing run: cases checked out of the total, the case just handled and whether it was rebuilt.</summary>
public readonly record struct PreprocessProgress(int Done, int Total, string CaseId, bool Rebuilt);

/// <summary>What a preprocessing run did.</summary>
/// <param name="Built">Cases (re)computed.</param>
/// <param name="Reused">Cases whose cached arrays were kept.</param>
/// <param name="Removed">Cases dropped because their source is gone.</param>
/// <param name="IndexWritten">False when the cache was already up to date and no file was touched.</param>
public sealed record PreprocessReport(string CacheDir, string RecipeHash, int Built, int Reused, int Removed, bool IndexWritten);

/// <summary>Settings of the run itself (not of its output, so not part of the recipe hash).</summary>
public sealed record PreprocessRunOptions
{
    /// <summary>Hash every source file even when its size and modification time match the index (slower; catches edits that kept both).</summary>
    public bool AlwaysHash { get; init; }

    /// <summary>Reads a source file (image or label) into a volume; default <see cref="VolumeReader.Read"/> (any supported format, chosen by content).</summary>
    public Func<string, Volume>? Reader { get; init; }

    /// <summary>Cases processed at once (default: the processor count).</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// Builds and maintains the preprocessing cache of a data set: per case, the recipe's arrays plus provenance in
/// <c>index.json</c> (see <see cref="CacheIndex"/>).
/// <para>
/// Up-to-date check, per case: a source whose path, size and modification time match the index is taken as unchanged
/// without reading it (fast: a rerun only stats the files). Otherwise its SHA-256 is computed; if that matches the index,
/// the arrays are kept and only the recorded time is refreshed; if not, the case is rebuilt. A different recipe hash
/// rebuilds every case. When nothing changed, nothing is written at all.
/// </para>
/// <para>
/// Array file names carry a key derived from the recipe hash and both source hashes, so new arrays never overwrite ones the
/// current index still names: arrays are written first (temporary name, rename), the index is swapped in last by a rename,
/// then files no index entry names are deleted. An interrupted run leaves the previous cache intact.
/// </para>
/// </summary>
public static class Preprocessor
{
    public const string ImageSuffix = ".image.f32";
    public const string LabelSuffix = ".label.u8";
    public const string FovSuffix = ".fov.u8";

    public static PreprocessReport Run(DatasetSource source, PreprocessRecipe recipe, string cacheDir,
        IProgress<PreprocessProgress>? progress = null, PreprocessRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheDir);
        recipe.Validate();
        options ??= new PreprocessRunOptions();
        var duplicate = source.Cases.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"data set {source.Name}: case id {duplicate.Key} appears twice");

        cacheDir = Path.GetFullPath(cacheDir);
        Directory.CreateDirectory(cacheDir);
        var recipeHash = recipe.Hash();
        var previous = CacheIndex.TryRead(cacheDir);
        var usable = previous is not null && previous.RecipeHash == recipeHash
            ? previous.Cases.ToDictionary(c => c.Id) : new Dictionary<string, CachedCase>();

        var results = new CachedCase[source.Cases.Count];
        var rebuilt = new bool[source.Cases.Count];
        var refreshed = new bool[source.Cases.Count];
        int done = 0;
        var errors = new ConcurrentQueue<Exception>();
        Parallel.For(0, source.Cases.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism) }, i =>
        {
            var sc = source.Cases[i];
            try
            {
                usable.TryGetValue(sc.Id, out var old);
                var image = CheckSource(sc, false, old?.Image, options.AlwaysHash);
                var label = CheckSource(sc, true, old?.Label, options.AlwaysHash);
                // Only a recipe with a FOV reads FOV masks, so a data set that ships them keeps its other caches as they were.
                SourceCheck? fov = recipe.Fov is not null && sc.FovPath is not null ? Check(sc.FovPath, old?.FovSource, options.AlwaysHash) : null;
                bool sameFov = fov is { } f ? f.SameContent : old?.FovSource is null;
                if (old is not null && image.SameContent && label.SameContent && sameFov && old.Site == sc.Site && ArraysPresent(cacheDir, old))
                {
                    results[i] = old with { Image = image.Record, Label = label.Record, FovSource = fov?.Record };
                    refreshed[i] = image.Record != old.Image || label.Record != old.Label || fov?.Record != old.FovSource;
                }
                else
                {
                    results[i] = Build(sc, image.Record, label.Record, fov?.Record, recipe, recipeHash, cacheDir, options.Reader);
                    rebuilt[i] = true;
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or DataFormatException or UnauthorizedAccessException or ArgumentException)
            {
                errors.Enqueue(e);
            }
            progress?.Report(new PreprocessProgress(Interlocked.Increment(ref done), source.Cases.Count, sc.Id, rebuilt[i]));
        });
        if (!errors.IsEmpty)
            throw errors.Count == 1 ? errors.First() : new AggregateException($"preprocessing {source.Name}: {errors.Count} cases failed", errors);

        int built = rebuilt.Count(b => b);
        var currentIds = source.Cases.Select(c => c.Id).ToHashSet();
        int removed = previous is null ? 0 : previous.Cases.Count(c => !currentIds.Contains(c.Id));
        bool changed = previous is null || previous.RecipeHash != recipeHash || built > 0 || removed > 0 || refreshed.Any(r => r)
                       || previous.Dataset != source.Name || previous.SourceRoot != source.Root
                       || !CacheIndex.SameLists(previous.Lists, source.Lists)
                       || !previous.Cases.Select(c => c.Id).SequenceEqual(source.Cases.Select(c => c.Id));
        if (changed)
        {
            var index = new CacheIndex { Dataset = source.Name, SourceRoot = source.Root, Recipe = recipe, RecipeHash = recipeHash, Cases = results, Lists = source.Lists };
            index.Write(cacheDir);
            DeleteUnreferenced(cacheDir, index);
        }
        return new PreprocessReport(cacheDir, recipeHash, built, source.Cases.Count - built, removed, changed);
    }

    private readonly record struct SourceCheck(SourceFileRecord Record, bool SameContent);

    private static SourceCheck CheckSource(SourceCase sc, bool label, SourceFileRecord? old, bool alwaysHash)
    {
        if (sc.SlicesOf(label) is not { } slices) return Check(label ? sc.LabelPath : sc.ImagePath, old, alwaysHash);
        var record = SourceReading.CheckSlices(slices, old, alwaysHash);
        return new SourceCheck(record, old is not null && old.Sha256 == record.Sha256);
    }

    private static SourceCheck Check(string path, SourceFileRecord? old, bool alwaysHash)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: source file does not exist", path);
        var full = info.FullName;
        if (!alwaysHash && old is not null && old.Path == full && old.Size == info.Length && old.ModifiedUtc == info.LastWriteTimeUtc)
            return new SourceCheck(old, true);
        string sha;
        using (var stream = File.OpenRead(full)) sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new SourceCheck(new SourceFileRecord(full, info.Length, info.LastWriteTimeUtc, sha), old is not null && old.Sha256 == sha);
    }

    private static bool ArraysPresent(string cacheDir, CachedCase c)
    {
        long voxels = (long)c.Slices * c.Height * c.Width;
        var image = new FileInfo(Path.Combine(cacheDir, c.ImageFile));
        var label = new FileInfo(Path.Combine(cacheDir, c.LabelFile));
        var fov = c.FovFile is null ? null : new FileInfo(Path.Combine(cacheDir, c.FovFile));
        return image.Exists && image.Length == voxels * c.ImageChannels * sizeof(float) && label.Exists && label.Length == voxels
               && (fov is null || fov.Exists && fov.Length == voxels);
    }

    private static CachedCase Build(SourceCase sc, SourceFileRecord imageRecord, SourceFileRecord labelRecord, SourceFileRecord? fovRecord,
        PreprocessRecipe recipe, string recipeHash, string cacheDir, Func<string, Volume>? reader)
    {
        var image = SourceReading.Read(sc, false, reader);
        // A colour-coded mask is decoded by exact colour, never read as RGB intensities.
        var label = recipe.Palette is { } palette && sc.SlicesOf(true) is null
            ? ColourPalette.ByName(palette)!.ReadMask(sc.LabelPath)
            : SourceReading.Read(sc, true, reader);
        var (sourceShape, sourceSpacing) = (image.Shape, image.Spacing);
        // The FOV is found on the colour image (its red channel), so before the channel is picked.
        float[]? fov = recipe.Fov is null ? null
            : sc.FovPath is { } fovPath
                ? ColourSources.FovFromMask(reader is not null ? reader(fovPath) : VolumeReader.Read(fovPath), fovPath,
                    ColourSources.IsColour(image) ? image.Shape[..2] : image.Shape)
                : ColourSources.FovFromRed(image, recipe.FovThreshold!.Value, sc.ImagePath);
        if (recipe.Channel is { } channel)
        {
            image = ColourSources.SelectChannel(image, channel, sc.ImagePath);
            label = ColourSources.Greyscale(label, sc.LabelPath);
        }
        int channels = 1;
        if (recipe.KeepColour == true)
        {
            image = ColourSources.Planar(image, sc.ImagePath);
            channels = image.Shape[0];
        }
        if (!(channels > 1 ? image.Shape[1..] : image.Shape).SequenceEqual(label.Shape))
            throw new InvalidDataException($"{sc.LabelPath}: label shape ({string.Join(", ", label.Shape)}) differs from image {sc.ImagePath} ({string.Join(", ", image.Shape)})" +
                                           (ColourSources.IsColour(image) && label.Rank == 2 ? "; the image is colour: a recipe for it names the Channel to keep" : ""));
        if (image.Rank is not (2 or 3))
            throw new InvalidDataException($"{sc.ImagePath}: {image.Rank}D image; preprocessing takes 2D or 3D volumes");
        int slices = channels > 1 ? 1 : image.Rank == 3 ? image.Shape[0] : 1, h = image.Shape[^2], w = image.Shape[^1];
        int H = recipe.Height, W = recipe.Width, plane = H * W;

        var mapped = MapLabels(label.Data, recipe, voxel => SourceReading.FileOf(sc, true, voxel, h * w));
        var outImage = new float[slices * channels * plane];
        var outLabelF = new float[slices * plane];
        var outFovF = fov is null ? null : new float[slices * plane];
        for (int p = 0; p < slices * channels; p++)
            SliceResampler.Resize(image.Data.AsSpan(p * h * w, h * w), h, w, outImage.AsSpan(p * plane, plane), H, W, recipe.ImageInterpolation);
        for (int z = 0; z < slices; z++)
        {
            SliceResampler.Resize(mapped.AsSpan(z * h * w, h * w), h, w, outLabelF.AsSpan(z * plane, plane), H, W, recipe.LabelInterpolation);
            // Nearest whatever the label interpolation: the FOV stays exactly 0/1.
            if (outFovF is not null) SliceResampler.Resize(fov!.AsSpan(z * h * w, h * w), h, w, outFovF.AsSpan(z * plane, plane), H, W, Interpolation.Nearest);
        }
        var norm = VolumeStatistics.ClipAndNormalise(outImage, recipe);

        var outLabel = new byte[outLabelF.Length];
        var foreground = new int[slices];
        for (int i = 0; i < outLabel.Length; i++)
        {
            // Bilinear label resizing (if chosen) gives fractions: round to the nearest class.
            outLabel[i] = (byte)Math.Clamp(MathF.Round(outLabelF[i]), 0, 255);
            if (outLabel[i] > 0) foreground[i / plane]++;
        }

        // The FOV mask's hash joins the key only when there is one, so every key of a FOV-less cache is what it was.
        var keyText = $"{recipeHash}|{imageRecord.Sha256}|{labelRecord.Sha256}" + (fovRecord is null ? "" : $"|{fovRecord.Sha256}");
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keyText)))[..16];
        var stem = $"{SafeName(sc.Site)}/{SafeName(sc.Name)}-{key}";
        AtomicFile.Write(Path.Combine(cacheDir, stem + ImageSuffix), s => s.Write(MemoryMarshal.AsBytes(outImage.AsSpan())));
        AtomicFile.Write(Path.Combine(cacheDir, stem + LabelSuffix), s => s.Write(outLabel));
        if (outFovF is not null)
        {
            var outFov = Array.ConvertAll(outFovF, v => v > 0 ? (byte)1 : (byte)0);
            AtomicFile.Write(Path.Combine(cacheDir, stem + FovSuffix), s => s.Write(outFov));
        }

        double[] spacing3 = image.Rank == 3 ? image.Spacing : [1.0, image.Spacing[0], image.Spacing[1]];
        return new CachedCase
        {
            Id = sc.Id, Site = sc.Site, Name = sc.Name, Image = imageRecord, Label = labelRecord,
            ImageFile = stem + ImageSuffix, LabelFile = stem + LabelSuffix,
            Shape = [slices, H, W],
            Spacing = [spacing3[0], spacing3[1] * h / H, spacing3[2] * w / W],
            SourceShape = channels > 1 ? sourceShape : image.Shape, SourceSpacing = channels > 1 ? sourceSpacing : image.Spacing,
            Normalisation = norm, ForegroundPerSlice = foreground,
            FovFile = outFovF is null ? null : stem + FovSuffix, FovSource = fovRecord,
            Channels = channels > 1 ? channels : null,
        };
    }

    /// <summary>
    /// Binarises, or checks every value is a declared class: a value outside 0..classes−1 means the recipe's class count
    /// is wrong for this data, and training on it would fail far from the cause, so it is rejected here.
    /// </summary>
    private static float[] MapLabels(float[] data, PreprocessRecipe recipe, Func<int, string> fileOf)
    {
        var mapped = new float[data.Length];
        int classes = recipe.ClassCount;
        for (int i = 0; i < data.Length; i++)
        {
            float v = data[i];
            if (recipe.Labels == LabelMapping.Binarise) mapped[i] = v > 0 ? 1 : 0;
            else if (v != MathF.Round(v) || v < 0 || v >= classes)
                throw new InvalidDataException($"{fileOf(i)}: label value {v} is not a class in 0..{classes - 1} (recipe {recipe.Dataset}, {classes} classes)");
            else mapped[i] = v;
        }
        return mapped;
    }

    private static string SafeName(string name)
    {
        var chars = name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_').ToArray();
        return new string(chars);
    }

    private static void DeleteUnreferenced(string cacheDir, CacheIndex index)
    {
        var keep = index.Cases.SelectMany(c => c.FovFile is null ? new[] { c.ImageFile, c.LabelFile } : [c.ImageFile, c.LabelFile, c.FovFile])
            .Select(f => Path.GetFullPath(Path.Combine(cacheDir, f))).ToHashSet();
        foreach (var file in Directory.EnumerateFiles(cacheDir, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(file);
            bool ours = name.EndsWith(ImageSuffix, StringComparison.Ordinal) || name.EndsWith(LabelSuffix, StringComparison.Ordinal)
                        || name.EndsWith(FovSuffix, StringComparison.Ordinal);
            if (ours && !keep.Contains(file)) File.Delete(file);
        }
        foreach (var dir in Directory.GetDirectories(cacheDir))
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
    }
}
