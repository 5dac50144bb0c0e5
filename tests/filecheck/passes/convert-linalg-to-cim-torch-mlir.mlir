// Real torch-mlir output (tests/data/mlir/make_data.py linalg): the ONNX
// exports tiny_cnn and grouped_cnn, lowered to linalg-on-tensors with named
// ops generalised, in MLIR's generic form with the ONNX node names as
// locations.
// RUN: xdsl-opt %S/../../data/mlir/tiny_cnn.linalg.mlir -p convert-linalg-to-cim | filecheck %s --check-prefix=CNN
// RUN: xdsl-opt %S/../../data/mlir/grouped_cnn.linalg.mlir -p convert-linalg-to-cim | filecheck %s --check-prefix=GROUPED

// Convolution + bias (the accumulator starts from the broadcast bias), the
// zero pad absorbed; ReLU as cmpf + select.
// CNN-LABEL: func.func @main_graph
// CNN:       %[[C1:.*]] = cim.conv2d %arg0, %{{.*}}, %{{.*}} {label = "/conv/Conv", strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<1x8x16x16xf32>
// CNN-NEXT:  %[[R1:.*]] = cim.elementwise relu %[[C1]] {label = "/Relu"}
// The depthwise convolution (linalg.depthwise_conv_2d_nchw_chw, generalised):
// groups = channels, weight [8, 1, 3, 3].
// CNN:       cim.conv2d %[[R1]], %{{.*}}, %{{.*}} {label = "/dw/Conv", strides = array<i64: 2, 2>, {{.*}} group = 8 : i64} : tensor<1x8x16x16xf32>, tensor<8x1x3x3xf32>, tensor<8xf32> -> tensor<1x8x8x8xf32>
// CNN:       cim.conv2d {{.*}} {label = "/pw/Conv", {{.*}} group = 1 : i64} : tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
// Pooling windows: max, and a sum (an average times the window size) that
// torch-mlir divides by the window size: the average again.
// CNN:       cim.pool max {{.*}} {label = "/pool/MaxPool", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>
// CNN:       %[[AVG:.*]] = cim.pool avg {{.*}} {label = "/avg/AveragePool", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>
// CNN-NEXT:  cim.reshape %[[AVG]] {label = "/Flatten"}
// Gemm: the transposed weight is folded into a [256, 32] constant, the bias
// added after the product becomes the linear's bias.
// CNN:       cim.linear {{.*}} {label = "/fc1/Gemm"} : tensor<1x256xf32>, tensor<256x32xf32>, tensor<32xf32> -> tensor<1x32xf32>
// CNN-NEXT:  cim.constant
// CNN-NEXT:  cim.elementwise div {{.*}} {label = "/Div"}
// CNN:       cim.elementwise erf
// CNN:       cim.linear {{.*}} {label = "/fc2/Gemm"} : tensor<1x32xf32>, tensor<32x10xf32>, tensor<10xf32> -> tensor<1x10xf32>
// Softmax as torch-mlir decomposes it (max with an unused argmax, sub, exp,
// sum, div) is one cim.softmax again.
// CNN:       %[[SM:.*]] = cim.softmax %{{.*}} {label = "/Softmax", axis = 1 : i64} : tensor<1x10xf32> -> tensor<1x10xf32>
// CNN-NEXT:  func.return %[[SM]]
// CNN-NOT:   linalg.
// CNN-NOT:   tensor.

// Grouped convolution (4 groups; torch-mlir splits the channels with
// expand_shape around a generalised conv_2d_ngchw_gfchw), the channel
// shuffle as layout ops, a dilated depthwise and a grouped pointwise one.
// GROUPED-LABEL: func.func @main_graph
// GROUPED:       cim.conv2d {{.*}} {label = "/stem/Conv", {{.*}} group = 1 : i64}
// GROUPED:       %[[G:.*]] = cim.conv2d {{.*}} {label = "/grouped/Conv", strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64} : tensor<1x8x12x12xf32>, tensor<16x2x3x3xf32>, tensor<16xf32> -> tensor<1x16x12x12xf32>
// GROUPED:       cim.reshape {{.*}} : tensor<1x16x12x12xf32> -> tensor<1x4x4x12x12xf32>
// GROUPED-NEXT:  cim.transpose {{.*}} perm = array<i64: 0, 2, 1, 3, 4>
// GROUPED-NEXT:  cim.reshape {{.*}} : tensor<1x4x4x12x12xf32> -> tensor<1x16x12x12xf32>
// GROUPED:       cim.conv2d {{.*}} {label = "/dw/Conv", strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, group = 16 : i64} : tensor<1x16x12x12xf32>, tensor<16x1x3x3xf32>
// GROUPED:       cim.conv2d {{.*}} {label = "/pw/Conv", {{.*}} group = 2 : i64} : tensor<1x16x12x12xf32>, tensor<8x8x1x1xf32>
// GROUPED:       cim.reduce sum {{.*}} {label = "/ReduceMean", axes = array<i64: 2, 3>
// GROUPED:       cim.linear {{.*}} {label = "/fc/Gemm"} : tensor<1x8xf32>, tensor<8x5xf32>, tensor<5xf32> -> tensor<1x5xf32>
// GROUPED-NOT:   linalg.
