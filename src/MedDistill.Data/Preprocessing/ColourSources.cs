using MedDistill.Data.Volumes;

namespace MedDistill.Data.Preprocessing;

/// <summary>
/// What preprocessing does to colour photographs (the fundus data sets): one channel becomes the image, a colour-stored
/// mask becomes greyscale, and the field of view comes from the data set's mask or from the red channel.
/// Readers return a colour image as (H, W, 3), channels last, and a greyscale one as (H, W).
/// </summary>
internal static class ColourSources
{
    public static bool IsColour(Volume v) => v.Rank == 3 && v.Shape[2] == 3;

    /// <summary>Channel <paramref name="channel"/> of the colour image <paramref name="image"/>, as a 2D image.</summary>
    public static Volume SelectChannel(Volume image, ImageChannel channel, string path)
    {
        if (!IsColour(image))
            throw new InvalidDataException($"{path}: a {image.Rank}D image of shape ({string.Join(", ", image.Shape)}), not colour (H, W, 3); the recipe keeps its {channel} channel");
        return Channel(image, (int)channel);
    }

    /// <summary>
    /// The colour image <paramref name="image"/> (H, W, 3, channels last as read) as three planes (3, H, W), R, G, B:
    /// the layout the cache and the network's input channels use. Spacing (1, row, column), one frame being one slice.
    /// A frame the file stores grey (the decoder's one channel) gets that channel three times, so every case has three.
    /// </summary>
    public static Volume Planar(Volume image, string path)
    {
        if (image.Rank == 2)
        {
            int n = image.Data.Length;
            var grey = new float[3 * n];
            for (int k = 0; k < 3; k++) image.Data.CopyTo(grey, k * n);
            return new Volume(grey, [3, image.Shape[0], image.Shape[1]], [1.0, image.Spacing[0], image.Spacing[1]], image.StoredType);
        }
        if (!IsColour(image))
            throw new InvalidDataException($"{path}: a {image.Rank}D image of shape ({string.Join(", ", image.Shape)}), not colour (H, W, 3); the recipe keeps colour");
        int h = image.Shape[0], w = image.Shape[1], plane = h * w;
        var planes = new float[3 * plane];
        for (int i = 0; i < plane; i++)
            for (int k = 0; k < 3; k++) planes[k * plane + i] = image.Data[3 * i + k];
        return new Volume(planes, [3, h, w], [1.0, image.Spacing[0], image.Spacing[1]], image.StoredType);
    }

    /// <summary>
    /// A mask as (H, W): as read when greyscale; its one channel when stored as colour with equal R, G and B (some
    /// archives save grey masks as RGB or palette images). A mask whose channels differ is not a grey mask and is refused.
    /// </summary>
    public static Volume Greyscale(Volume mask, string path)
    {
        if (!IsColour(mask)) return mask;
        var d = mask.Data;
        for (int i = 0; i < d.Length; i += 3)
            if (d[i] != d[i + 1] || d[i] != d[i + 2])
                throw new InvalidDataException($"{path}: a colour mask (pixel {i / 3} is ({d[i]}, {d[i + 1]}, {d[i + 2]})); expected a greyscale one");
        return Channel(mask, 0);
    }

    /// <summary>The FOV (1 inside, 0 outside) from a mask file: non-zero is inside, as DRIVE's 0/255 masks mark it.</summary>
    public static float[] FovFromMask(Volume mask, string path, int[] imageShape)
    {
        var grey = Greyscale(mask, path);
        if (!grey.Shape.SequenceEqual(imageShape))
            throw new InvalidDataException($"{path}: FOV mask shape ({string.Join(", ", grey.Shape)}) differs from its image's ({string.Join(", ", imageShape)})");
        return Array.ConvertAll(grey.Data, v => v > 0 ? 1f : 0f);
    }

    /// <summary>
    /// The FOV of a fundus photograph without a mask file: pixels whose red value is at least <paramref name="fraction"/>
    /// of the image's largest red value. Nothing further (no hole filling, no morphology): the camera's surround is dark in
    /// red, and the fundus, dark vessels included, is not.
    /// </summary>
    public static float[] FovFromRed(Volume image, double fraction, string path)
    {
        if (!IsColour(image))
            throw new InvalidDataException($"{path}: greyscale image without a FOV mask file; the FOV is thresholded from the red channel of a colour image");
        var red = Channel(image, (int)ImageChannel.Red).Data;
        float max = red.Max();
        if (max <= 0) throw new InvalidDataException($"{path}: the red channel is all zero; no field of view to find");
        float threshold = (float)(fraction * max);
        return Array.ConvertAll(red, v => v >= threshold ? 1f : 0f);
    }

    private static Volume Channel(Volume colour, int k)
    {
        int h = colour.Shape[0], w = colour.Shape[1];
        var plane = new float[h * w];
        for (int i = 0; i < plane.Length; i++) plane[i] = colour.Data[3 * i + k];
        return new Volume(plane, [h, w], [colour.Spacing[0], colour.Spacing[1]], colour.StoredType);
    }
}
