"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x3x12x12xf32>) -> tensor<1x5xf32>, sym_name = "main_graph"}> ({
  ^bb0(%arg0: tensor<1x3x12x12xf32> loc("x")):
    %0 = "arith.constant"() <{value = 0.000000e+00 : f32}> : () -> f32 loc(unknown)
    %1 = "arith.constant"() <{value = 1.000000e+00 : f32}> : () -> f32 loc(unknown)
    %2 = "arith.constant"() <{value = dense<"0x8BDABCBAC56ED33D543222BEDB0711BECCCD97BDC461533D56E479BBFC401C3ED7E88BBC6E96503D293A6EBD9CF21ABDFC443CBEE48302BE0379A2BDB69AE93B09D19B3DDD7DEC3DE29905BEE2A1ABBD58288F3DC5A4233E2D3A22BD0E78133E221DFEBC43D2A63CF270323EA2D036BEEC1FF8BD619047BD88A299BD87442A3EDB78FFBD416FB5BD28AE09BE299138BEFD12E6BD6966293E1CDFAF3D1C07BF3D9AD3253C6511CABD395D053D8F0038BE34650EBE9A30CBBD2EADF83D6317E73D54CCAEBDFC8AE3BB3613FC3DA8E9433E206D9C3D15FBD43CCB21043EBA11E8BDF4E3123DE2C918BEF29508BEE89ACBBD3456B23DB1819E3DF077E9BDC6246E3DE15ED83DF6FCC6BCD7C7F03BADA5363D8C83F43D72393D3EAEDD17BE887090BD6AE69A3D0448233EA57D2B3E94E22D3ED9E01C3D215E2BBEE807913C2093F6BDC0A837BE1F182F3EE0D7153EEC9444BE0C8B133DFCCA04BD34B801BD566BB4BD7091973DFF72E9BDCD7C903D9451C73D76130D3E5D5F933DC90B43BE0CADFFBD86CCC43DB5FC243DF5BA19BEC5F3E2BD7664393EDEC9043E9FDAABBDA06546BD3ABA3BBE7BB262BB8C6714BEAA0218BE15BC2DBC1BB6EC3C4F69A1BD5EDFE93D27D9EFBD7ED0323E210D073E512F26BE7F3044BDB8460E3C4105E63C6CF53A3DBAAB9A3D11DF3C3CA84FC0BD6D80BA3DC2093DBEAC9BE9BD335445BD62FDBFBDEFE189BD9E8521BE9CAD27BDBD7F283D366200BEB1D021BC6A120D3EE211A2BC6E43AF3BE10188BC44881F3DBD9BFA3D3AAC3A3EAE4CFA3D91193B3E9E0964BCFE0731BE0CDABABD6C2F063EF984A3BA9EE7C3BD260417BE656D38BEE85326BE29E41FBDC425D83D4B16D53D3D0F3EBE28DBF53D51351ABE4AA626BDE5CF9FBD7BD517BDACC51ABDFBD630BE21282ABEAAB2F6BC201B233B020CB3BDAD78943D9E5F31BE4FCB54BC644E2D3E01C4A0BD2EF4313E0DBD8E3DD4D831BEB45EF93DE0ECB5BC20F2AFBD38961D3E1C401FBEF52BA93C4D0A25BDB9BA0C3EF60A5C3DA462BD3D7B318B3D728F3DBD56C725BD9C6622BEAE8FD53DE8771C3EE5D6063E14020BBEC6A00C3CACEB0ABE74F7D8BD90AAE5BDD3B1863D35DFEABD729589BB25A5043CFF11FE3DE4F714BE4B4A07BE54DCE4BD63EF093EC2AD8DBDB339263EF0858E3DE4A1C73C2FC6BBBAD9D31BBDDACDC53CA0FF33BD933DB1BA2E28C93C"> : tensor<8x3x3x3xf32>}> : () -> tensor<8x3x3x3xf32> loc("/stem/Conv")
    %3 = "arith.constant"() <{value = dense<[-0.150535449, -0.100869142, 0.155402049, -0.15618223, -0.0138191087, 0.190379083, 6.952010e-02, 0.00544884708]> : tensor<8xf32>}> : () -> tensor<8xf32> loc("/stem/Conv")
    %4 = "arith.constant"() <{value = dense<[0.0538834743, 0.306918621, -0.159133643, 0.119209409, -0.0835690125, -0.0722874403, 0.245101139, -0.258328646, 0.0354044437, 0.313469738, -0.0458040647, 0.258812726, -0.102652274, 0.268320739, -0.322443455, -0.0480412245]> : tensor<16xf32>}> : () -> tensor<16xf32> loc("/dw/Conv")
    %5 = "arith.constant"() <{value = dense<[-0.0457037874, -0.258585572, 0.103524081, -0.251382589, -0.280547202, 0.0215381775, 0.280312538, -0.100049958]> : tensor<8xf32>}> : () -> tensor<8xf32> loc("/pw/Conv")
    %6 = "arith.constant"() <{value = dense<[[0.166405872, 0.303815931, 0.234498143, -0.185460329, -0.0387564711, -0.111257903, -0.284300387, 1.46080973E-4], [0.26602596, 0.297874242, 0.0329867788, 0.080300115, -0.153060913, 0.266877085, -0.147116572, -0.245596841], [0.0544449203, 0.211914733, -0.318760753, 0.319600761, 0.127184138, -0.247704014, -0.0761580467, 0.306735814], [-0.271258414, -0.103335597, 0.115958542, -0.309742838, 0.193817332, 0.184041381, 0.219275758, -0.225406945], [0.352139533, -0.209572837, 0.352966666, -0.339301795, -0.315005451, 0.21715118, 3.695090e-02, 0.0203962512]]> : tensor<5x8xf32>}> : () -> tensor<5x8xf32> loc("/fc/Gemm")
    %7 = "arith.constant"() <{value = dense<[-0.195783153, -0.148306966, -0.103374586, -0.344415963, 0.0183737073]> : tensor<5xf32>}> : () -> tensor<5xf32> loc("/fc/Gemm")
    %8 = "arith.constant"() <{value = dense<[-0.0631328076, 0.0841177702, 0.148356199, 0.0447213687, 0.031091053, -0.0802156701, -0.0543409139, 0.059138786, -0.135507762, -0.0548109487, -7.039360e-02, 0.297660589, -0.115927704, 0.0528178439, -0.060740225, 4.60181356E-4]> : tensor<16xf32>}> : () -> tensor<16xf32> loc("/grouped/Conv")
    %9 = "arith.constant"() <{value = dense<"0xB1BB2DBE0B9FC63D4BCB0EBE53A163BD628686BD7F80EDBC9C570C3B555A253E4C37C83C4590333EF743F53D4C7CFDBDC7D3B33DF2B60DBEA8EEA9BD3DDB6B3DE363843DCE66163ED0FE7DBD35ADA139D419CB3D02C33EBE2B9C0E3EE41C23BE2DFE2D3B2C2506BD8AC6CFBDA891D03CB41C233EBEA466BD3E37EABD51E791BDC48143BEDA13B23D8277BDBD83A203BE8DF924BE96A5243EA4A6173E70CA5B3EE8BDCF3DA844BFBD420CA0BD7C33A93DBC666B3E6AB89B3DEC7D07BE039D06BECE5F87BE4079773DDCB320BEBD507FBE241B7B3ED6F739BE107CD2BCFD84843DCDC7EB3B7A9F1BBE81F23ABE0E59383EEDA4163DC9DF3F3E59119BBDA23F883D278D53BD399024BCD5DB0CBEE46F9C3DA03E923D8DAB98BB5A0F50BD1D910EBE6230223E43972EBEAC28C03D5CB99DBDCF4EE2BD9987283D73A8F3BD1526583DDE3A383D1C232EBE53321C3DA0C9C73D6DABB93D1B2EECBC184440BEAD9D10BDBEE8A23D7B26ABBD8069D13D0EB4373E9A0810BE321A2E3BD61FE43D41F6AC3CBA55B83C51C6093D20DB58BE1E6DAD3CE9033F3EA591783E0221223E64DB133DFCD2003E923106BE359764BEC2346DBE675D843E4373283EB66D37BEB7A4CF3DF164483E83A1843E6E08683E7F974D3E3E5973BD2B41BABD77E0593E5FB4143EC3B01FBE1A916E3E8136003ECBA8103EEA5226BE0944983D55CF9EBDA3FB303E0A0823BD3E5DB03D3AEE203D48BEC03D64F299BD7FE0DC3D71351EBE97A14C3DC44019BE3C755FBEE2E535BE1BD2323ED818F53D4083543EB575353E02484ABE1CEF4BBE582541BDA51242BE7B824F3ED9EB61BE44CD11BECB5990BE79A929BEE3C8753E80AC743EC5EA553E04BD663E1EDC843E7C0A99BDE37C033ED31E853E5DB8C53D735E953E36A3F03D8D35103EA961A2BD9B9EDE3D3C3FD53C279A5DBDCAC402BEC82A02BED08032BEFFBB1B3EC1EB243E8C37D3BC2B3E06BE314C333E0B59143E88F3893CFB0CDBBD1633553E97FCB23DFE2126BE2673513ECA2E263E1F889FBDC00BF63DE6AFF8BDC02E09BDA3D1393E7DAD103CDAC41ABECF4992BD409D6DBD32E228BDE28BA73C35644A3E4C783B3C291F07BE1CE25C3C0B26013E6C9B053EBB2A76BE6ACA40BDFC2948BE6FDAE5BD9016C23D8E453FBE4E3FC83DBB9D643E12548D3C468433BE9701C1BD60436B3D0E544DBE86D0053E438874BE730643BEE42045BE3FA024BDFA6B083E0A0540BE28A1283EC64FA2BDCAAD6D3D7907143C5BF036BEA740283E017ADA3DE6A8493E28FECC3DD6E905BE9151293EFA742E3C856AC03DE8CA44BE232F8DBD5AFB70BE9D2FBFBD89C9533DB2B340BEE6779C3D90BF033E33C3083D7E3624BE52493EBE307097BD7877D73D4517723E10210D3EE819DDBC741AAC3D29C870BEAF1C3ABEF659CB3D24D9F6BD50AAD13D4DD319BE42DCD7BD2D7C33BE1A6CE33D72A0B1BCF9B2273ECCDA063EAB26F13DE138E03B01BE86BD51843DBD30ADE73CBC08D83D4AA918BEB2A9253E11B2ABBC5F6625BE9298D5BDE1A62E3E2284343EFFD536BE8D370B3E53D8C53DABACE93D1E18273E95C3D4BD1352793D118EA13D814E69BDD51C843DFC2963BDF112F43D"> : tensor<4x4x2x3x3xf32>}> : () -> tensor<4x4x2x3x3xf32> loc("/grouped/Conv")
    %10 = "arith.constant"() <{value = dense<"0xB668BDBDC67EFEBD56DCAB3D3623F23D0BC426BEEB62F13C9BD0453EA0D807BD36C2CF3D7BA6A4BD4046EF3D884277BEBEB648BEF0412DBE33D89C3EDBB1B7BD56956EBADE5F25BEF65FAA3E5FAFA63EEBB680BEB65A8ABE385D81BE56B5D2BAB003AEBD136B5FBE80DAF4BD10FA803DF05732BE5B44973DDB8B9CBDCB6525BEB6933B3D03558C3EB6C466BE00987D3CD6BEFBBDEE79A73E1AECA1BE8C9CA3BE202CA83E4BF557BE16E2823D56ACEBBCFBCE8FBDDB7898BDA6E5583E8084823CDF29A6BE768249BEA6B8E8BDB8C32B3E68E35CBECAECA03EC60C98BD762975BD2CBA853E888E2B3EF2BE903E3E71453EF016CFBD1B7762BE802BCBBC0A408D3ED01DE5BD6A459EBE18EC0B3E9E23A63E0058C2BDE7508DBE0BCE9ABE6B13AB3DEBC3CEBC765E2CBE1BFD893DD69F013E04BC873EA880843E405E4CBDFF7C96BEE6379ABE86599F3E60E3163E2BCA143E16AA93BE3F0A9E3E0EAEA13E92169A3ECBF88FBE06CB00BEB8C16ABE8F9DA13E03AA12BE58D61BBE36D4323EF0E51DBE3E1D28BE00DBEEBC363C03BD17F284BE84478E3ECE9116BEEB26F23D6E71943ED8232C3EC04D413D8336913E6089373D8EEB1DBE5A73A13EEB92A13D2684A6BE7659C2BD538168BEECA1953EAB7A61BD22919BBEABA8ABBC9B5C563E6B5BB13DBBDCD73D169BFD3CCB82FE3D4655A6BD50C807BE0A869FBECB9180BE4BEF133EA81B4ABE2BE1433DC0E6D93D8057C13CAB4D5DBEA036A33E337C46BE9A5F8C3E4AC487BEE636A4BDB8AC393E53760BBE0A5E8F3E08E46ABE2E528FBEEBE919BE"> : tensor<16x3x3xf32>}> : () -> tensor<16x3x3xf32> loc("/dw/Conv")
    %11 = "arith.constant"() <{value = dense<[[[[[-0.0621003881]], [[0.114581347]], [[0.138708696]], [[0.271464258]], [[-5.267450e-02]], [[-0.0140201915]], [[0.24211733]], [[-0.0956620499]]], [[[0.309936792]], [[-0.23540014]], [[-0.0382579565]], [[-0.0189896841]], [[0.157759026]], [[0.241716012]], [[-0.0560395457]], [[-0.292912126]]], [[[0.175182953]], [[0.10575904]], [[0.142022148]], [[-0.218095645]], [[0.227545395]], [[0.334869862]], [[0.0306783114]], [[-3.302360e-01]]], [[[0.248190895]], [[-0.262142599]], [[0.0812720581]], [[5.137760e-02]], [[-0.165475905]], [[0.12310572]], [[-0.316229701]], [[0.0805251374]]]], [[[[-0.224135503]], [[-0.0382310264]], [[0.0454771668]], [[0.30120784]], [[-0.168687493]], [[0.226499051]], [[-0.0449132398]], [[-0.167912319]]], [[[-0.307874173]], [[-0.324391723]], [[0.345284015]], [[-0.0881760492]], [[0.017659571]], [[0.0958526805]], [[0.240321621]], [[0.301748663]]], [[[0.286737859]], [[-0.261941731]], [[-0.0566451959]], [[-0.209210843]], [[-0.202003345]], [[0.0838653594]], [[0.331862181]], [[-0.283233017]]], [[[0.213972092]], [[-0.183305666]], [[-6.886310e-02]], [[0.280640393]], [[-0.0799632743]], [[0.0321930684]], [[-0.247145325]], [[0.30095908]]]]]> : tensor<2x4x8x1x1xf32>}> : () -> tensor<2x4x8x1x1xf32> loc("/pw/Conv")
    %12 = "arith.constant"() <{value = 1.440000e+02 : f32}> : () -> f32 loc(unknown)
    %13 = "tensor.pad"(%arg0) <{operandSegmentSizes = array<i32: 1, 0, 0>, static_high = array<i64: 0, 0, 1, 1>, static_low = array<i64: 0, 0, 1, 1>}> ({
    ^bb0(%arg56: index loc("/stem/Conv"), %arg57: index loc("/stem/Conv"), %arg58: index loc("/stem/Conv"), %arg59: index loc("/stem/Conv")):
      "tensor.yield"(%0) : (f32) -> () loc("/stem/Conv")
    }) : (tensor<1x3x12x12xf32>) -> tensor<1x3x14x14xf32> loc("/stem/Conv")
    %14 = "tensor.empty"() : () -> tensor<1x8x12x12xf32> loc("/stem/Conv")
    %15 = "linalg.generic"(%3, %14) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg54: f32 loc("/stem/Conv"), %arg55: f32 loc("/stem/Conv")):
      "linalg.yield"(%arg54) : (f32) -> () loc("/stem/Conv")
    }) : (tensor<8xf32>, tensor<1x8x12x12xf32>) -> tensor<1x8x12x12xf32> loc("/stem/Conv")
    %16 = "linalg.generic"(%13, %2, %15) <{indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg51: f32 loc(unknown), %arg52: f32 loc(unknown), %arg53: f32 loc(unknown)):
      %70 = "arith.mulf"(%arg51, %arg52) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      %71 = "arith.addf"(%arg53, %70) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      "linalg.yield"(%71) : (f32) -> () loc(unknown)
    }) {linalg.memoized_indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>]} : (tensor<1x3x14x14xf32>, tensor<8x3x3x3xf32>, tensor<1x8x12x12xf32>) -> tensor<1x8x12x12xf32> loc("/stem/Conv")
    %17 = "linalg.generic"(%16, %14) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg49: f32 loc("/stem/Conv"), %arg50: f32 loc("/Relu")):
      %68 = "arith.cmpf"(%arg49, %0) <{fastmath = #arith.fastmath<none>, predicate = 9 : i64}> : (f32, f32) -> i1 loc("/Relu")
      %69 = "arith.select"(%68, %arg49, %0) : (i1, f32, f32) -> f32 loc("/Relu")
      "linalg.yield"(%69) : (f32) -> () loc("/Relu")
    }) : (tensor<1x8x12x12xf32>, tensor<1x8x12x12xf32>) -> tensor<1x8x12x12xf32> loc("/Relu")
    %18 = "tensor.pad"(%17) <{operandSegmentSizes = array<i32: 1, 0, 0>, static_high = array<i64: 0, 0, 1, 1>, static_low = array<i64: 0, 0, 1, 1>}> ({
    ^bb0(%arg45: index loc("/grouped/Conv"), %arg46: index loc("/grouped/Conv"), %arg47: index loc("/grouped/Conv"), %arg48: index loc("/grouped/Conv")):
      "tensor.yield"(%0) : (f32) -> () loc("/grouped/Conv")
    }) : (tensor<1x8x12x12xf32>) -> tensor<1x8x14x14xf32> loc("/grouped/Conv")
    %19 = "tensor.empty"() : () -> tensor<1x16x12x12xf32> loc("/grouped/Conv")
    %20 = "linalg.generic"(%8, %19) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg43: f32 loc("/grouped/Conv"), %arg44: f32 loc("/grouped/Conv")):
      "linalg.yield"(%arg43) : (f32) -> () loc("/grouped/Conv")
    }) : (tensor<16xf32>, tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/grouped/Conv")
    %21 = "tensor.expand_shape"(%18) <{reassociation = [[0], [1, 2], [3], [4]], static_output_shape = array<i64: 1, 4, 2, 14, 14>}> : (tensor<1x8x14x14xf32>) -> tensor<1x4x2x14x14xf32> loc("/grouped/Conv")
    %22 = "tensor.expand_shape"(%20) <{reassociation = [[0], [1, 2], [3], [4]], static_output_shape = array<i64: 1, 4, 4, 12, 12>}> : (tensor<1x16x12x12xf32>) -> tensor<1x4x4x12x12xf32> loc("/grouped/Conv")
    %23 = "linalg.generic"(%21, %9, %22) <{indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg40: f32 loc(unknown), %arg41: f32 loc(unknown), %arg42: f32 loc(unknown)):
      %66 = "arith.mulf"(%arg40, %arg41) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      %67 = "arith.addf"(%arg42, %66) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      "linalg.yield"(%67) : (f32) -> () loc(unknown)
    }) {linalg.memoized_indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>]} : (tensor<1x4x2x14x14xf32>, tensor<4x4x2x3x3xf32>, tensor<1x4x4x12x12xf32>) -> tensor<1x4x4x12x12xf32> loc("/grouped/Conv")
    %24 = "tensor.collapse_shape"(%23) <{reassociation = [[0], [1, 2], [3], [4]]}> : (tensor<1x4x4x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/grouped/Conv")
    %25 = "linalg.generic"(%24, %19) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg38: f32 loc("/grouped/Conv"), %arg39: f32 loc("/Relu_1")):
      %64 = "arith.cmpf"(%arg38, %0) <{fastmath = #arith.fastmath<none>, predicate = 9 : i64}> : (f32, f32) -> i1 loc("/Relu_1")
      %65 = "arith.select"(%64, %arg38, %0) : (i1, f32, f32) -> f32 loc("/Relu_1")
      "linalg.yield"(%65) : (f32) -> () loc("/Relu_1")
    }) : (tensor<1x16x12x12xf32>, tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/Relu_1")
    %26 = "tensor.expand_shape"(%25) <{reassociation = [[0], [1, 2], [3], [4]], static_output_shape = array<i64: 1, 4, 4, 12, 12>}> : (tensor<1x16x12x12xf32>) -> tensor<1x4x4x12x12xf32> loc("/Reshape")
    %27 = "tensor.empty"() : () -> tensor<1x4x4x12x12xf32> loc("/Transpose")
    %28 = "linalg.generic"(%26, %27) <{indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg36: f32 loc("/Reshape"), %arg37: f32 loc("/Transpose")):
      "linalg.yield"(%arg36) : (f32) -> () loc("/Transpose")
    }) : (tensor<1x4x4x12x12xf32>, tensor<1x4x4x12x12xf32>) -> tensor<1x4x4x12x12xf32> loc("/Transpose")
    %29 = "tensor.collapse_shape"(%28) <{reassociation = [[0], [1, 2], [3], [4]]}> : (tensor<1x4x4x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/Reshape_1")
    %30 = "tensor.pad"(%29) <{operandSegmentSizes = array<i32: 1, 0, 0>, static_high = array<i64: 0, 0, 2, 2>, static_low = array<i64: 0, 0, 2, 2>}> ({
    ^bb0(%arg32: index loc("/dw/Conv"), %arg33: index loc("/dw/Conv"), %arg34: index loc("/dw/Conv"), %arg35: index loc("/dw/Conv")):
      "tensor.yield"(%0) : (f32) -> () loc("/dw/Conv")
    }) : (tensor<1x16x12x12xf32>) -> tensor<1x16x16x16xf32> loc("/dw/Conv")
    %31 = "linalg.generic"(%4, %19) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg30: f32 loc("/dw/Conv"), %arg31: f32 loc("/dw/Conv")):
      "linalg.yield"(%arg30) : (f32) -> () loc("/dw/Conv")
    }) : (tensor<16xf32>, tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/dw/Conv")
    %32 = "linalg.generic"(%30, %10, %31) <{indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d4 * 2, d2 + d5 * 2)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1, d2)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg27: f32 loc(unknown), %arg28: f32 loc(unknown), %arg29: f32 loc(unknown)):
      %62 = "arith.mulf"(%arg27, %arg28) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      %63 = "arith.addf"(%arg29, %62) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      "linalg.yield"(%63) : (f32) -> () loc(unknown)
    }) {linalg.memoized_indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d4 * 2, d2 + d5 * 2)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1, d2)>]} : (tensor<1x16x16x16xf32>, tensor<16x3x3xf32>, tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/dw/Conv")
    %33 = "linalg.generic"(%32, %19) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg25: f32 loc("/dw/Conv"), %arg26: f32 loc("/Sigmoid")):
      %58 = "arith.negf"(%arg25) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32 loc("/Sigmoid")
      %59 = "math.exp"(%58) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32 loc("/Sigmoid")
      %60 = "arith.addf"(%59, %1) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc("/Sigmoid")
      %61 = "arith.divf"(%1, %60) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc("/Sigmoid")
      "linalg.yield"(%61) : (f32) -> () loc("/Sigmoid")
    }) : (tensor<1x16x12x12xf32>, tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/Sigmoid")
    %34 = "linalg.generic"(%32, %33, %19) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg22: f32 loc("/dw/Conv"), %arg23: f32 loc("/Sigmoid"), %arg24: f32 loc("/Mul")):
      %57 = "arith.mulf"(%arg22, %arg23) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc("/Mul")
      "linalg.yield"(%57) : (f32) -> () loc("/Mul")
    }) : (tensor<1x16x12x12xf32>, tensor<1x16x12x12xf32>, tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> loc("/Mul")
    %35 = "linalg.generic"(%5, %14) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg20: f32 loc("/pw/Conv"), %arg21: f32 loc("/pw/Conv")):
      "linalg.yield"(%arg20) : (f32) -> () loc("/pw/Conv")
    }) : (tensor<8xf32>, tensor<1x8x12x12xf32>) -> tensor<1x8x12x12xf32> loc("/pw/Conv")
    %36 = "tensor.expand_shape"(%34) <{reassociation = [[0], [1, 2], [3], [4]], static_output_shape = array<i64: 1, 2, 8, 12, 12>}> : (tensor<1x16x12x12xf32>) -> tensor<1x2x8x12x12xf32> loc("/pw/Conv")
    %37 = "tensor.expand_shape"(%35) <{reassociation = [[0], [1, 2], [3], [4]], static_output_shape = array<i64: 1, 2, 4, 12, 12>}> : (tensor<1x8x12x12xf32>) -> tensor<1x2x4x12x12xf32> loc("/pw/Conv")
    %38 = "linalg.generic"(%36, %11, %37) <{indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg17: f32 loc(unknown), %arg18: f32 loc(unknown), %arg19: f32 loc(unknown)):
      %55 = "arith.mulf"(%arg17, %arg18) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      %56 = "arith.addf"(%arg19, %55) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      "linalg.yield"(%56) : (f32) -> () loc(unknown)
    }) {linalg.memoized_indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>, affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>]} : (tensor<1x2x8x12x12xf32>, tensor<2x4x8x1x1xf32>, tensor<1x2x4x12x12xf32>) -> tensor<1x2x4x12x12xf32> loc("/pw/Conv")
    %39 = "tensor.collapse_shape"(%38) <{reassociation = [[0], [1, 2], [3], [4]]}> : (tensor<1x2x4x12x12xf32>) -> tensor<1x8x12x12xf32> loc("/pw/Conv")
    %40 = "tensor.empty"() : () -> tensor<1x8xf32> loc("/ReduceMean")
    %41 = "linalg.generic"(%0, %40) <{indexing_maps = [affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg15: f32 loc(unknown), %arg16: f32 loc(unknown)):
      "linalg.yield"(%arg15) : (f32) -> () loc(unknown)
    }) : (f32, tensor<1x8xf32>) -> tensor<1x8xf32> loc("/ReduceMean")
    %42 = "linalg.generic"(%39, %41) <{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>, #linalg.iterator_type<reduction>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg13: f32 loc("/pw/Conv"), %arg14: f32 loc("/ReduceMean")):
      %54 = "arith.addf"(%arg13, %arg14) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc("/ReduceMean")
      "linalg.yield"(%54) : (f32) -> () loc("/ReduceMean")
    }) : (tensor<1x8x12x12xf32>, tensor<1x8xf32>) -> tensor<1x8xf32> loc("/ReduceMean")
    %43 = "linalg.generic"(%42, %40) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg11: f32 loc("/ReduceMean"), %arg12: f32 loc("/ReduceMean")):
      %53 = "arith.divf"(%arg11, %12) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc("/ReduceMean")
      "linalg.yield"(%53) : (f32) -> () loc("/ReduceMean")
    }) : (tensor<1x8xf32>, tensor<1x8xf32>) -> tensor<1x8xf32> loc("/ReduceMean")
    %44 = "tensor.empty"() : () -> tensor<8x5xf32> loc("/fc/Gemm")
    %45 = "linalg.generic"(%6, %44) <{indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg9: f32 loc("/fc/Gemm"), %arg10: f32 loc("/fc/Gemm")):
      "linalg.yield"(%arg9) : (f32) -> () loc("/fc/Gemm")
    }) : (tensor<5x8xf32>, tensor<8x5xf32>) -> tensor<8x5xf32> loc("/fc/Gemm")
    %46 = "tensor.empty"() : () -> tensor<1x5xf32> loc("/fc/Gemm")
    %47 = "linalg.generic"(%0, %46) <{indexing_maps = [affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
    ^bb0(%arg7: f32 loc(unknown), %arg8: f32 loc(unknown)):
      "linalg.yield"(%arg7) : (f32) -> () loc(unknown)
    }) : (f32, tensor<1x5xf32>) -> tensor<1x5xf32> loc("/fc/Gemm")
    %48 = "linalg.generic"(%43, %45, %47) <{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg4: f32 loc(unknown), %arg5: f32 loc(unknown), %arg6: f32 loc(unknown)):
      %51 = "arith.mulf"(%arg4, %arg5) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      %52 = "arith.addf"(%arg6, %51) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc(unknown)
      "linalg.yield"(%52) : (f32) -> () loc(unknown)
    }) : (tensor<1x8xf32>, tensor<8x5xf32>, tensor<1x5xf32>) -> tensor<1x5xf32> loc("/fc/Gemm")
    %49 = "linalg.generic"(%48, %7, %46) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 2, 1>}> ({
    ^bb0(%arg1: f32 loc("/fc/Gemm"), %arg2: f32 loc("/fc/Gemm"), %arg3: f32 loc("/fc/Gemm")):
      %50 = "arith.addf"(%arg1, %arg2) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32 loc("/fc/Gemm")
      "linalg.yield"(%50) : (f32) -> () loc("/fc/Gemm")
    }) : (tensor<1x5xf32>, tensor<5xf32>, tensor<1x5xf32>) -> tensor<1x5xf32> loc("/fc/Gemm")
    "func.return"(%49) : (tensor<1x5xf32>) -> () loc(unknown)
  }) : () -> () loc("graph:main_graph")
}) : () -> () loc(unknown)