//
//  Use this file to import your target's public headers that you would like to expose to Swift.
//

#ifndef HelloWorld_Bridging_Header_h
#define HelloWorld_Bridging_Header_h

#import "TorchModule.h"

#endif /* HelloWorld_Bridging_Header_h */
