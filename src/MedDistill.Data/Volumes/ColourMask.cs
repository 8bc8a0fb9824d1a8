namespace MedDistill.Data.Volumes;

/// <summary>One class of a colour-coded mask: its index, name and the exact RGB colour that marks it.</summary>
public readonly record struct PaletteClass(int Index, string Name, byte R, byte G, byte B);

/// <summary>
/// A colour map of a colour-coded segmentation mask (classes are pixels of exact colours, not indices), and the reader
/// that turns such a PNG back into class indices. A colour outside the map is an error naming the file, the first such
/// pixel and its colour, never silently a class: a lossy re-save or a wrong palette must not pass as labels.
/// </summary>
public sealed class ColourPalette
{
    private readonly Dictionary<int, int> indexOf = new();

    public ColourPalette(string name, IReadOnlyList<PaletteClass> classes)
    {
        Name = name;
        Classes = classes;
        foreach (var c in classes)
        {
            if (!indexOf.TryAdd(Key(c.R, c.G, c.B), c.Index))
                throw new ArgumentException($"palette {name}: colour ({c.R}, {c.G}, {c.B}) of class {c.Index} {c.Name} is already used");
        }
        if (classes.Select(c => c.Index).Distinct().Count() != classes.Count) throw new ArgumentException($"palette {name}: class indices repeat");
    }

    public string Name { get; }
    public IReadOnlyList<PaletteClass> Classes { get; }

    public PaletteClass this[int index] => Classes.First(c => c.Index == index);

    /// <summary>
    /// M2caiSeg's 19 classes with the colours of its authors' class file (salmanmaq/segmentationNetworks,
    /// datasets/miccaiSegClasses.json, commit b0dfd41b). Index 0 is "unknown" and 18 "black" (outside the circular
    /// endoscope image). A later commit of that file gives artery liver's colour (85, 170, 0) — a typo, since then two
    /// classes would share a colour; the distinct (170, 0, 255) is used here.
    /// </summary>
    public static ColourPalette M2caiSeg { get; } = new("m2caiseg",
    [
        new(0, "unknown", 170, 0, 85), new(1, "grasper", 0, 85, 170), new(2, "bipolar", 0, 85, 255),
        new(3, "hook", 0, 170, 85), new(4, "scissors", 0, 255, 85), new(5, "clipper", 0, 255, 170),
        new(6, "irrigator", 85, 0, 170), new(7, "specimen-bag", 85, 0, 255), new(8, "trocars", 170, 85, 85),
        new(9, "clip", 170, 170, 170), new(10, "liver", 85, 170, 0), new(11, "gall-bladder", 85, 170, 255),
        new(12, "fat", 85, 255, 0), new(13, "upperwall", 85, 255, 170), new(14, "artery", 170, 0, 255),
        new(15, "intestine", 255, 0, 255), new(16, "bile", 255, 255, 0), new(17, "blood", 255, 0, 0),
        new(18, "black", 0, 0, 0),
    ]);

    public static ColourPalette? ByName(string name) =>
        string.Equals(name, M2caiSeg.Name, StringComparison.OrdinalIgnoreCase) ? M2caiSeg : null;

    public bool TryIndex(byte r, byte g, byte b, out int index) => indexOf.TryGetValue(Key(r, g, b), out index);

    /// <summary>RGB pixels of a class map (H×W indices, row major).</summary>
    public byte[] Colourise(ReadOnlySpan<byte> classes)
    {
        var byIndex = Classes.ToDictionary(c => c.Index);
        var rgb = new byte[3 * classes.Length];
        for (int i = 0; i < classes.Length; i++)
        {
            var c = byIndex.TryGetValue(classes[i], out var k) ? k : throw new ArgumentException($"class {classes[i]} is not in palette {Name}");
            (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = (c.R, c.G, c.B);
        }
        return rgb;
    }

    /// <summary>Reads a colour-coded mask (PNG) into an (H, W) uint8 volume of class indices.</summary>
    public Volume ReadMask(string path, ReadLimits? limits = null)
    {
        var (rgb, width, height, _) = RasterImage.ReadRgb(path, limits);
        var data = new float[width * height];
        for (int i = 0; i < data.Length; i++)
        {
            byte r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
            if (!TryIndex(r, g, b, out int index))
                throw new DataFormatException(path, $"pixel (x {i % width}, y {i / width}) has colour ({r}, {g}, {b}), which is not in the {Name} colour map");
            data[i] = index;
        }
        return new Volume(data, [height, width], null, VoxelType.UInt8);
    }

    private static int Key(byte r, byte g, byte b) => (r << 16) | (g << 8) | b;
}
