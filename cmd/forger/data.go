package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"forger/dataset"
)

func dataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Get data sets"}
	var (
		dir    string
		cart   dataset.CartoonOptions
		person int64
	)
	get := &cobra.Command{
		Use:   "get fashion-mnist|mnist|cartoon-faces",
		Short: "Make a built-in data set available and print where it is",
		Long: `Make a built-in data set available and print where it is.

fashion-mnist comes from the Debian package dataset-fashion-mnist, mnist
through the Go module proxy.

cartoon-faces renders --n random cartoon faces (facesjs: hair, beards,
mustaches, glasses, smiles, hats) of --size pixels, cropped to the head, into
images/000000.png … with attributes.csv (file, male, mustache, beard, glasses,
smiling, hat, skin_tone). --misalign adds a random rotation, scale and shift
to each face and records them (rotation_deg, scale, shift_x, shift_y). It
needs Node.js and npm (apt-get install nodejs npm) and a forger checkout
(scripts/cartoon-faces); npm ci installs the renderer's packages on first use.
A complete set with the same --n, --size, --seed and --misalign is not
rendered again. Default folder: $FORGER_HOME/data/cartoon-faces-<size>[-misaligned].

--person SEED renders a person set instead: --n photos (default 300) of ONE
cartoon person, a stand-in for a few hundred phone photos of yourself. SEED
picks the identity (sex, skin colour, head and face shape, ears, eyes,
eyebrows, nose, the lines of the face, hair colour, facial hair, their glasses
and three hairdos); --seed picks what changes from photo to photo: the hairdo
(the usual one 70%), the mouth (smiling 50%), glasses on (30%), a hat (20%),
the shirt, and a small misalignment (rotation within ±5°, scale 0.95–1.05,
shift within ±5% of the side). attributes.csv has the columns of a --misalign
set; manifest.json records the person. Default folder:
$FORGER_HOME/data/cartoon-faces-<size>-person-<SEED>; --data cartoon-faces
never picks a person set, so train on its folder.`,
		Example: `  forger data get mnist
  forger data get cartoon-faces --n 20000 --size 64
  forger data get cartoon-faces --n 5000 --size 64 --misalign
  forger data get cartoon-faces --person 7 --n 300 --size 64`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			switch name {
			case dataset.FashionMNIST, dataset.MNIST:
				for _, f := range []string{"n", "size", "misalign", "seed", "person"} {
					if cmd.Flags().Changed(f) {
						return usagef("data get %s: --%s only applies to cartoon-faces", name, f)
					}
				}
				path, err := dataset.Get(name, dir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), path)
				return nil
			case dataset.CartoonFaces:
				if cart.N < 1 {
					return usagef("data get cartoon-faces: --n must be at least 1, not %d", cart.N)
				}
				if cart.Size < 16 || cart.Size > 1024 {
					return usagef("data get cartoon-faces: --size must be between 16 and 1024, not %d", cart.Size)
				}
				o := cart
				if cmd.Flags().Changed("person") {
					if person < 0 {
						return usagef("data get cartoon-faces: --person must be 0 or more, not %d", person)
					}
					if cart.Misalign {
						return usagef("data get cartoon-faces: --misalign does not apply with --person (a person's photos are always slightly misaligned)")
					}
					o.Person = &person
					if !cmd.Flags().Changed("n") {
						o.N = dataset.DefaultCartoonPersonN
					}
				}
				o.Dir = dir
				path, err := dataset.GetCartoonFaces(cmd.Context(), o, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), path)
				return nil
			}
			return usagef("data get: unknown data set %q (known: %s, %s, %s)", name,
				dataset.FashionMNIST, dataset.MNIST, dataset.CartoonFaces)
		},
	}
	get.Flags().StringVar(&dir, "dir", "", "copy the files into (cartoon-faces: render into) this folder")
	get.Flags().IntVar(&cart.N, "n", dataset.DefaultCartoonN, "cartoon-faces: number of faces (with --person: 300)")
	get.Flags().IntVar(&cart.Size, "size", dataset.DefaultCartoonSize, "cartoon-faces: image side in pixels")
	get.Flags().BoolVar(&cart.Misalign, "misalign", false, "cartoon-faces: randomly rotate, scale and shift each face, and record it")
	get.Flags().Int64Var(&cart.Seed, "seed", 0, "cartoon-faces: random seed (the same seed gives the same faces; with --person, the same photos)")
	get.Flags().Int64Var(&person, "person", 0, "cartoon-faces: render photos of the one person this seed picks (a person set)")
	cmd.AddCommand(get)
	return cmd
}
