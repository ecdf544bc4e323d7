from tsunagu.slices import main

main()
